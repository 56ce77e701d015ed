from . import main, twinfield
