"""The data-leakage experiment (Varanka et al., data leakage in ME analysis, Table 3), side by side.

:func:`leakage_comparison` trains the same network under the same protocol three ways and reports them in
one table:

``fixed epochs``
    the honest protocol: a fixed number of epochs, the same for every fold (what :func:`mefast.train.evaluate`
    does by default);
``ES on validation (ESV)``
    honest early stopping: the best epoch is chosen on a validation split carved from the training fold;
``LEAKY: ES on test fold``
    the leak the paper exposes: after every epoch the network is scored on the *test* fold with its labels
    and the best epoch's weights are kept (NMER's code in MEGC2019). Its numbers are optimistic by
    construction and are labelled ``LEAKY`` in every table, CSV and markdown this module writes.

The leaky run cannot go through :func:`mefast.protocols.cross_validate` (the test labels are withheld from
methods there, so it would raise ``LabelLeakError``): it has its own fold loop here, reading the test labels as
the evaluator does. Nothing in :func:`mefast.train.evaluate`, :class:`~mefast.train.TrainConfig` or
``mefast evaluate`` can reach it; only this function (and ``mefast reproduce leakage-table3``) runs it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..protocols import Evaluation, Protocol, _score, make_protocol
from ..store import MEStore
from .data import Source, StoreSource
from .evaluate import evaluate, method_title, output_head, subject_keys
from .trainer import TrainConfig, Trainer

__all__ = ["LEAKY_LABEL", "STRATEGIES", "LeakageComparison", "leakage_comparison"]

#: Column label of the leaky strategy, used verbatim in every output.
LEAKY_LABEL = "LEAKY: ES on test fold"
#: The three strategies, in table order.
STRATEGIES: tuple[str, ...] = ("fixed epochs", "ES on validation (ESV)", LEAKY_LABEL)


class _TestFoldStoppingTrainer(Trainer):
    """Trains on the whole training fold and keeps the epoch that scores best on the *test* fold (the leak)."""

    def __init__(self, *args: object, test_rows: NDArray, test_labels: NDArray, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._test = (np.asarray(test_rows, dtype=np.int64), np.asarray(test_labels))

    def _validation_mask(self, n: int, groups: object, seed: int) -> NDArray[np.bool_]:
        return np.zeros(n, dtype=bool)  # no validation split: the test fold plays its part

    def _selection_set(self, val_labels: NDArray) -> tuple[NDArray, NDArray]:
        return self._test


@dataclasses.dataclass(frozen=True)
class LeakageComparison:
    """Results of :func:`leakage_comparison`.

    Attributes
    ----------
    evaluations : dict
        ``(model, strategy) -> Evaluation``; strategies are :data:`STRATEGIES`.
    """

    evaluations: dict[tuple[str, str], Evaluation]

    def table(self) -> pd.DataFrame:
        """Headline metric (mean over seeds, %) per model and strategy: overall and per test dataset."""
        rows = []
        for (model, strategy), ev in self.evaluations.items():
            r = ev.runs[ev.runs["metric"] == ev.headline]
            row = {"model": method_title(model), "strategy": strategy, "leaky": strategy == LEAKY_LABEL}
            row["Full"] = 100 * r[r["scope"] == "overall"]["value"].mean()
            for d, g in r[r["scope"] == "dataset"].groupby("key", sort=False):
                row[str(d)] = 100 * g["value"].mean()
            rows.append(row)
        return pd.DataFrame(rows)

    def to_markdown(self) -> str:
        """The table as markdown; the leaky rows say so in their strategy cell."""
        return self.table().drop(columns="leaky").to_markdown(index=False, floatfmt=".1f")

    def to_csv(self, path: str | Path) -> Path:
        """Write the table (with its ``leaky`` column) as CSV."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.table().to_csv(path, index=False)
        return path


def _leaky_evaluation(
    proto: Protocol, model: str, source: Source, config: TrainConfig, seeds: Sequence[int], groups: pd.Series
) -> Evaluation:
    """The leaky protocol: per fold, keep the epoch with the best test-fold score. Evaluator-side loop.

    Its networks have the protocol-wide head (:func:`~mefast.train.evaluate.output_head`: every class of the
    protocol's samples) and train in ``proto.classes`` codes, as it reads the test labels anyway; the honest
    strategies (:func:`~mefast.train.evaluate.evaluate`) give each fold's network its ``fold.classes``. The two
    are the same under a protocol with fixed classes (``megc2019``, the published table's).
    """
    leaky_cfg = dataclasses.replace(config, early_stopping=True, patience=config.epochs)
    runs: list[dict] = []
    preds: list[pd.DataFrame] = []
    for seed in seeds:
        trues, outs, rows = [], [], []
        for fold in proto.folds:
            y_train = proto.labels[fold.train]
            y_test = proto.labels[fold.test]  # the leak: the test labels steer training
            trainer = _TestFoldStoppingTrainer(
                model,
                source,
                **output_head(proto),
                config=leaky_cfg,
                test_rows=fold.test,
                test_labels=y_test,
            )
            trainer.fit(fold.train, y_train, seed=int(seed), groups=groups.loc[fold.train].to_numpy())
            trues.append(y_test)
            outs.append(trainer.predict(fold.test))
            rows.append(fold.test)
        y_true, y_pred, row = np.concatenate(trues), np.concatenate(outs), np.concatenate(rows)
        datasets = proto.meta.loc[row, "dataset"].astype(str).to_numpy()
        for key, value in _score(proto, y_true, y_pred).items():
            runs.append({"seed": seed, "scope": "overall", "key": "all", "metric": key, "value": value})
        for d in pd.unique(datasets):
            sel = datasets == d
            for key, value in _score(proto, y_true[sel], y_pred[sel]).items():
                runs.append({"seed": seed, "scope": "dataset", "key": d, "metric": key, "value": value})
        preds.append(pd.DataFrame({"seed": seed, "row": row, "dataset": datasets}))
    return Evaluation(
        protocol=proto.name,
        label=proto.label,
        method=f"{method_title(model)} [{LEAKY_LABEL}]",
        classes=proto.classes,
        runs=pd.DataFrame(runs),
        predictions=pd.concat(preds, ignore_index=True),
        notes=(*proto.notes, "LEAKY: early stopping on the test fold; optimistic by construction"),
    )


def leakage_comparison(
    store: str | Path | MEStore,
    protocol: str = "megc2019",
    models: Sequence[str] = ("ststnet", "offapexnet"),
    *,
    label: str | None = None,
    seeds: Sequence[int] = (0,),
    config: TrainConfig | None = None,
    classes: Sequence[str] | None = None,
) -> LeakageComparison:
    """Run the honest protocol and the leaky one side by side (see the module docstring).

    Each model is trained three ways on the same store, protocol, seeds and settings: for a fixed number of
    epochs and with ESV through :func:`mefast.train.evaluate`, and with early stopping on the test fold through
    this module's own fold loop.

    Parameters
    ----------
    store : str, Path or MEStore
    protocol : str
        A protocol of :data:`mefast.protocols.PROTOCOLS` (the paper's Table 3 uses ``megc2019``, LOSO).
    models : sequence of str
        Registered network names.
    label, classes, seeds
        As in :func:`mefast.train.evaluate`.
    config : TrainConfig, optional
        Training settings; ``early_stopping`` is set per strategy.

    Returns
    -------
    LeakageComparison
    """
    config = config or TrainConfig()
    st = store if isinstance(store, MEStore) else MEStore.open(store, mode="r")
    done = st.done
    proto = make_protocol(protocol, st.meta[done], au=st.au[done], au_names=st.au_names, label=label, classes=classes)
    groups = subject_keys(proto)
    source = StoreSource(st)
    out: dict[tuple[str, str], Evaluation] = {}
    for model in models:
        for strategy, es in zip(STRATEGIES[:2], (False, True), strict=True):
            cfg = dataclasses.replace(config, early_stopping=es)
            out[(model, strategy)] = evaluate(
                st, protocol, model, label=label, seeds=seeds, config=cfg, classes=classes
            )
        out[(model, LEAKY_LABEL)] = _leaky_evaluation(proto, model, source, config, seeds, groups)
    return LeakageComparison(out)
