"""Training IFCNN in this repository (paper Secs. 2.3-2.5), behind ``fusionbench train``.

* :mod:`.synthesis` -- online multi-focus synthesis from RGB-D (Eqs. 3-5), on torch tensors;
* :mod:`.rgbd_sources` -- NYU-D2 ``.mat``, RGB+depth folders, Middlebury (depth = 1/disparity), plain
  images with synthetic depth;
* :mod:`.augmentation` -- random resized crop, flips, HSV jitter, grey; identical across I_1, I_2, I_s;
* :mod:`.losses` -- B_loss, P_loss (frozen ResNet-101 or EfficientNet-Lite0), T_loss;
* :mod:`.schedule` -- poly learning rate (Eq. 9), BN momentum schedule and freezing;
* :mod:`.recipes` -- the ``paper``, ``cpu-small``, ``gpu-short`` and ``smoke`` presets and the variants;
* :mod:`.trainer` -- the loop (checkpoints, resume, CSV log, AMP on CUDA, DDP under torchrun);
* :mod:`.checkpoint_file` -- the ``fusionbench-ifcnn`` checkpoint format and its release copy.
"""
