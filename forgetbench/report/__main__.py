"""``python -m forgetbench.report <output_dir> [...]``."""
import sys

from forgetbench.report import main

sys.exit(main())
