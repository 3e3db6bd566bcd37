"""``python -m translkit`` (also what ``torchrun -m translkit`` starts)."""

from translkit.cli import main

if __name__ == "__main__":
    main()
