"""GPIO at the edge: the RPi.GPIO API on a Pi (rpi-lgpio), or simulated pins anywhere else."""
