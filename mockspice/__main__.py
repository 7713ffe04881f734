"""``python -m mockspice``: the same command as the ``mockspice`` script."""

from mockspice.cli import main

if __name__ == "__main__":
    main()
