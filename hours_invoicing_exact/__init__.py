from . import models, report
from .hooks import pre_init_hook
