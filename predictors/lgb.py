"""The LightGBM predictor: a saved booster (``model.bst``) behind V1 and V2.

Follows KServe's lgbserver (``python/lgbserver/lgbserver/model.py``): exactly one file ending in ``.bst``
in the model directory, loaded as ``lightgbm.Booster(model_file=...)``,
predictions ``booster.predict(instances)``. LightGBM ignores ``params`` when loading a file (and warns:
lgbserver passes ``nthread`` there), so ``--nthread`` goes to ``predict(num_threads=...)`` instead. Served locally for
``spec.predictor.model.modelFormat.name: lightgbm`` and ``spec.predictor.lightgbm``.

Needs the ``lightgbm`` extra (``pip install 'isvc-kit[lightgbm]'``). Never imports ``local`` or ``ray``.
"""

from __future__ import annotations

import argparse

import numpy as np

from predictors.boosters import BoosterModel, add_booster_arguments, import_extra
from predictors.storage import find_model_file, resolve_model_dir

MODEL_EXTENSIONS = (".bst",)


class LightGBMModel(BoosterModel):
    def load(self) -> bool:
        lgb = import_extra("lightgbm", "lightgbm")
        path = find_model_file(resolve_model_dir(self.model_dir), MODEL_EXTENSIONS, self.model_dir)
        self.booster = lgb.Booster(model_file=str(path))
        self.describe(int(self.booster.num_feature()))
        self.ready = True
        return self.ready

    def raw_predict(self, matrix: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.predict(matrix, num_threads=self.nthread))


def add_model_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    return add_booster_arguments(parser, "model.bst")


def build_model(args: argparse.Namespace) -> LightGBMModel:
    model = LightGBMModel(args.model_name, args.model_dir, args.nthread)
    model.load()
    return model


def main(argv: list[str] | None = None) -> None:
    from predictors.serving import build_parser, serve

    args = add_model_arguments(build_parser(__doc__)).parse_args(argv)
    serve([build_model(args)], args)


if __name__ == "__main__":
    main()
