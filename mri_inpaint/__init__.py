"""Fill the missing stripes of 64x64 head-MRI slices with a U-Net trained from scratch."""
from .checkpoint import load_model
from .config import AdaptConfig, Config, DataConfig, TrainConfig, preset
from .dataset import CorruptedPairs, make_test_loader, make_train_loaders
from .masks import StripeParams, corrupt, fit_stripes, infer_mask, stripe_mask
from .model import InpaintNet, UNet
from .paths import Paths
from .utils import pick_device, seed_everything

__all__ = ["AdaptConfig", "Config", "CorruptedPairs", "DataConfig", "InpaintNet", "Paths", "StripeParams",
           "TrainConfig", "UNet", "corrupt", "fit_stripes", "infer_mask", "load_model", "make_test_loader",
           "make_train_loaders", "pick_device", "preset", "seed_everything", "stripe_mask"]
