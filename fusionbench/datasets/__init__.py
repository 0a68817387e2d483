"""Datasets: the registry of test sets, their items, and fetching files from mirrors or upstream."""
from .fetching import LocalFile, RemoteFile, data_directories, fetch, set_data_directories
from .manifest import MANIFEST_NAME, load_manifest
from .registry import Dataset, Item, get_dataset, list_datasets, register_dataset

__all__ = ["Dataset", "Item", "LocalFile", "MANIFEST_NAME", "RemoteFile", "data_directories", "fetch",
           "get_dataset", "list_datasets", "load_manifest", "register_dataset", "set_data_directories"]
