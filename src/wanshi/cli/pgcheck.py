"""Exit 0 when the PostgreSQL URL given as the only argument accepts connections (used by `make test`)."""

from __future__ import annotations

import sys

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m wanshi.cli.pgcheck URL", file=sys.stderr)
        return 2
    engine = create_engine(argv[1], connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError:
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
