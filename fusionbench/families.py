"""The dataset families of image fusion, as used by the IFCNN paper (Zhang et al. 2020)."""

MULTI_FOCUS = "multi-focus"
INFRARED_VISUAL = "infrared-visual"
MEDICAL = "medical"
MULTI_EXPOSURE = "multi-exposure"

FAMILIES = (MULTI_FOCUS, INFRARED_VISUAL, MEDICAL, MULTI_EXPOSURE)
