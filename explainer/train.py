"""Train the bundled models on the command line (the loops live in `explainer.models.training`).

    python -m explainer.train mnist --steps 6000
    python -m explainer.train toy2d --dataset moons
"""
import sys

from .models.training import main

if __name__ == "__main__":
    sys.exit(main())
