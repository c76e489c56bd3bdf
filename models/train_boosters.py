"""Train tiny XGBoost and LightGBM iris classifiers in KServe's file layout, deterministically.

* ``models/xgboost-iris/v1/model.json``: ``multi:softprob``, 4 rounds of depth-2 trees (a few KB), the
  layout of KServe's xgbserver (one ``.bst``/``.json``/``.ubj`` file);
* ``models/lightgbm-iris/v1/model.bst``: ``multiclass``, 4 rounds of 4-leaf trees, lgbserver's layout.

Both predict class probabilities ``[N, 3]`` (what KServe's servers answer for these objectives). One
thread and fixed seeds, so a rebuild writes the same predictions. A library that is not installed
(the ``xgboost`` / ``lightgbm`` extras) is skipped with a message.

Usage: ``python models/train_boosters.py [--out models] [--only xgboost|lightgbm]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sklearn.datasets import load_iris

SEED = 42
ROUNDS = 4
DEFAULT_OUT = Path(__file__).resolve().parent
XGBOOST_DIR = "xgboost-iris/v1"
LIGHTGBM_DIR = "lightgbm-iris/v1"


def train_xgboost(out_root: Path) -> Path:
    import xgboost as xgb

    iris = load_iris()
    params = {"objective": "multi:softprob", "num_class": 3, "max_depth": 2, "eta": 0.5, "nthread": 1, "seed": SEED}
    booster = xgb.train(params, xgb.DMatrix(iris.data, label=iris.target), num_boost_round=ROUNDS)
    out = out_root / XGBOOST_DIR
    out.mkdir(parents=True, exist_ok=True)
    booster.save_model(out / "model.json")
    return out / "model.json"


def train_lightgbm(out_root: Path) -> Path:
    import lightgbm as lgb

    iris = load_iris()
    params = {
        "objective": "multiclass",
        "num_class": 3,
        "num_leaves": 4,
        "min_data_in_leaf": 5,
        "learning_rate": 0.5,
        "num_threads": 1,
        "deterministic": True,
        "seed": SEED,
        "verbose": -1,
    }
    booster = lgb.train(params, lgb.Dataset(iris.data, label=iris.target), num_boost_round=ROUNDS)
    out = out_root / LIGHTGBM_DIR
    out.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(out / "model.bst"))
    return out / "model.bst"


TRAINERS = {"xgboost": train_xgboost, "lightgbm": train_lightgbm}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output root (default: %(default)s)")
    parser.add_argument("--only", action="append", choices=sorted(TRAINERS), help="library to train (default: all)")
    args = parser.parse_args(argv)
    for name in args.only or sorted(TRAINERS):
        try:
            path = TRAINERS[name](args.out)
        except ImportError as exc:
            print(f"{name}: skipped, the library is not installed (pip install 'isvc-kit[{name}]'): {exc}")
            continue
        print(f"{name} iris v1: {path.stat().st_size} bytes -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
