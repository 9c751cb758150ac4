"""`python -m apeart stages/<name>.py [args]`: run a stage script in a process where `apeart` (and with it
its OpenMP spin count) is loaded before the script's first import, whatever that import is."""
import runpy
import sys

if __name__ == "__main__":
    if len(sys.argv) < 2 or not sys.argv[1].endswith(".py"):
        sys.exit("usage: python -m apeart stages/<name>.py [args]")
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
