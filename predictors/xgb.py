"""The XGBoost predictor: a saved booster (``model.bst``, ``model.json`` or ``model.ubj``) behind V1 and V2.

Follows KServe's xgbserver (``python/xgbserver/xgbserver/model.py``): exactly one file ending in
``.bst``, ``.json`` or ``.ubj`` in the model directory, loaded as ``xgboost.Booster(params={"nthread":
n}, model_file=bytearray(...))``, predictions ``booster.predict(DMatrix(instances))``. Served locally for
``spec.predictor.model.modelFormat.name: xgboost`` and ``spec.predictor.xgboost``.

Needs the ``xgboost`` extra (``pip install 'isvc-kit[xgboost]'``). Never imports ``local`` or ``ray``.
"""

from __future__ import annotations

import argparse

import numpy as np

from predictors.boosters import BoosterModel, add_booster_arguments, import_extra
from predictors.storage import find_model_file, resolve_model_dir

BOOSTER_FILE_EXTENSIONS = (".bst", ".json", ".ubj")


class XGBoostModel(BoosterModel):
    def load(self) -> bool:
        xgb = import_extra("xgboost", "xgboost")
        path = find_model_file(resolve_model_dir(self.model_dir), BOOSTER_FILE_EXTENSIONS, self.model_dir)
        self.booster = xgb.Booster(params={"nthread": self.nthread}, model_file=bytearray(path.read_bytes()))
        self.describe(int(self.booster.num_features()))
        self.ready = True
        return self.ready

    def raw_predict(self, matrix: np.ndarray) -> np.ndarray:
        import xgboost as xgb

        return np.asarray(self.booster.predict(xgb.DMatrix(matrix, nthread=self.nthread)))


def add_model_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    return add_booster_arguments(parser, "model.bst|model.json|model.ubj")


def build_model(args: argparse.Namespace) -> XGBoostModel:
    model = XGBoostModel(args.model_name, args.model_dir, args.nthread)
    model.load()
    return model


def main(argv: list[str] | None = None) -> None:
    from predictors.serving import build_parser, serve

    args = add_model_arguments(build_parser(__doc__)).parse_args(argv)
    serve([build_model(args)], args)


if __name__ == "__main__":
    main()
