"""``python -m moviecdc``."""

from moviecdc.cli import main

if __name__ == "__main__":
    main()
