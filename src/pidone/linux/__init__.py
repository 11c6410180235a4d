"""SIDE EFFECTS: the only code that forks, reads /proc and unit directories, writes cgroupfs."""
