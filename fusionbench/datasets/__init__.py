"""Datasets: the registry of test sets, their items, and fetching files from mirrors or upstream."""
from .fetching import RemoteFile, data_directories, fetch, set_data_directories
from .registry import Dataset, Item, get_dataset, list_datasets

__all__ = ["Dataset", "Item", "RemoteFile", "data_directories", "fetch", "get_dataset",
           "list_datasets", "set_data_directories"]
