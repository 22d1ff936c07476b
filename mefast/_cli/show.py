"""``mefast show``: draw a figure of a store or of ``evaluate`` results into a PNG file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ._common import fail

STORE_VIEWS = ("gallery", "class-means", "flow", "tsne", "cam", "magnified")
RESULT_VIEWS = ("confusion", "au-f1", "corpus", "tsne")
VIEWS = ("gallery", "class-means", "flow", "confusion", "au-f1", "corpus", "tsne", "cam", "magnified")


DESCRIPTION = (
    f"Figures of a preprocessed store ({', '.join(STORE_VIEWS)}) or of 'mefast evaluate --out' folders "
    f"({', '.join(RESULT_VIEWS)}). Needs the viz extra (pip install 'mefast[viz]'); cam also needs torch."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the subcommand's arguments."""
    p.add_argument("paths", nargs="+", metavar="STORE_OR_RESULTS", help="a store, or one or more results folders")
    p.add_argument("--what", required=True, choices=VIEWS, help="the figure to draw")
    p.add_argument("--out", type=Path, default=None, help="PNG file to write (default: <what>.png)")
    p.add_argument("--sample", help="sample id or store row (flow, cam; default: the first done sample)")
    p.add_argument("--by", default="emotion", help="class-means grouping: emotion, au or a metadata column")
    p.add_argument("-n", type=int, default=64, help="gallery: number of samples (default 64)")
    p.add_argument("--tile", type=int, default=96, help="gallery: image side in pixels (default 96)")
    p.add_argument("--max-magnitude", type=float, default=None, help="flow colours: fixed maximum in pixels")
    p.add_argument("--seed", type=int, default=None, help="confusion: one seed (default: all pooled)")
    p.add_argument("--metric", default=None, help="corpus: the metric (default: the headline, UF1 or AU F1)")
    p.add_argument("--feature", default=None, help="tsne on a store: biwoof, mdmo, lbptop or flow (default biwoof)")
    p.add_argument("--model", default="sssnet", help="cam: registered model to train (default sssnet)")
    p.add_argument("--model-dir", type=Path, default=None, help="cam/tsne: a saved model (mefast.train.fit)")
    p.add_argument("--epochs", type=int, default=30, help="cam: training epochs (default 30)")


def _is_store(path: str) -> bool:
    from ..viz._means import is_store

    return is_store(path)


def _sample(st: Any, sample: str | None) -> int:
    import numpy as np

    if sample is not None:
        return int(st.row_of(sample))
    done = np.flatnonzero(st.done)
    if not len(done):
        raise ValueError("the store has no finished sample")
    return int(done[0])


def _tsne_store(args: argparse.Namespace, st: Any) -> Any:
    import numpy as np

    from ..viz import tsne_embedding, tsne_figure

    rows = np.flatnonzero(st.done)
    meta = st.meta.iloc[rows]
    if args.model_dir is not None:
        from ..train.embed import embed

        frame = embed(args.model_dir, st, rows=rows)
        feats = frame[[c for c in frame.columns if c.startswith("f") and c[1:].isdigit()]].to_numpy()
        what = f"embeddings of the model in {args.model_dir}"
    else:
        feature = args.feature or next((f for f in ("biwoof", "mdmo", "lbptop", "flow") if f in st.features), None)
        if feature is None or feature not in st.features:
            raise ValueError(f"the store has no {feature!r} array; it has {list(st.features)}")
        feats = np.asarray(st.read(feature, rows), dtype=np.float64).reshape(len(rows), -1)
        what = f"store feature {feature}"
    points = tsne_embedding(feats)
    return tsne_figure(points, meta["emotion"].astype(str).tolist(), groups=meta["dataset"].astype(str).tolist(),
                       title=f"t-SNE of the {what} ({len(rows)} samples), colour: emotion")  # fmt: skip


def _tsne_results(res: Any) -> Any:
    import numpy as np

    from ..viz import tsne_embedding, tsne_figure

    path = res.embeddings_path
    if path is None:
        raise ValueError(
            f"{res.path} holds no embeddings.npz; draw a store's features or a saved model's embeddings with "
            "'mefast show STORE --what tsne [--model-dir DIR]'"
        )
    with np.load(path) as z:
        emb, rows = z["embedding"], z["row"]
    p = res.predictions.drop_duplicates("row").set_index("row")
    label = p["true"] if "true" in p.columns else p["dataset"]
    labels = label.reindex(rows).astype(str).tolist()
    return tsne_figure(tsne_embedding(emb), labels, groups=p["dataset"].reindex(rows).astype(str).tolist(),
                       title=f"t-SNE of {res.method} embeddings ({len(rows)} samples)")  # fmt: skip


def _cam(args: argparse.Namespace, st: Any) -> Any:
    import numpy as np

    from ..train import TrainConfig
    from ..train.explain import explain_sample
    from ..viz import cam_figure
    from ..viz._means import face_frames

    row = _sample(st, args.sample)
    config = TrainConfig(epochs=args.epochs, lr=1e-3, batch_size=16, device="cpu", threads=1)
    ex = explain_sample(st, row, model=args.model, model_dir=args.model_dir, config=config)
    faces = face_frames(st, np.asarray([row]))
    flow = np.moveaxis(st.read("flow", row), 0, -1) if "flow" in st.features else None
    face = faces[0] if faces is not None else np.full(ex.heat.shape, 128, np.uint8)
    source = f"trained on {ex.trained_on} samples of other subjects" if ex.trained_on else f"from {args.model_dir}"
    title = (f"Grad-CAM of {ex.model} ({source}) for {ex.sample_id}: true {ex.true}, predicted {ex.predicted} "
             f"(p={float(ex.probabilities.max()):.2f})")  # fmt: skip
    return cam_figure(face, ex.heat, title=title, flow=flow)


def _magnified(args: argparse.Namespace, st: Any) -> Any:
    from ..viz._means import magnified_feature

    if magnified_feature(st) is None:
        raise ValueError(f"the store has no magnified frames (a 'magnified' or 'amplified' array): {list(st.features)}")
    from ..viz import gallery

    return gallery(st, n=args.n, tile=args.tile)


def draw(args: argparse.Namespace) -> Any:
    """The figure that ``args`` asks for (a matplotlib Figure or a Pillow image)."""
    from .. import viz
    from ..viz._means import open_store

    paths = [str(p) for p in args.paths]
    store_like = _is_store(paths[0])
    if args.what in ("gallery", "class-means", "flow", "cam", "magnified") or (args.what == "tsne" and store_like):
        if len(paths) != 1 or not store_like:
            raise ValueError(f"--what {args.what} draws one store; got {', '.join(paths)}")
        st = open_store(paths[0])
        if args.what == "gallery":
            if args.max_magnitude is not None:
                return viz.gallery(st, n=args.n, tile=args.tile, max_magnitude=float(args.max_magnitude))
            return viz.gallery(st, n=args.n, tile=args.tile)
        if args.what == "class-means":
            return viz.class_means_figure(viz.class_means(st, args.by))
        if args.what == "flow":
            return viz.flow_figure(st, _sample(st, args.sample))
        if args.what == "tsne":
            return _tsne_store(args, st)
        if args.what == "magnified":
            return _magnified(args, st)
        return _cam(args, st)
    if store_like:
        raise ValueError(f"--what {args.what} draws 'mefast evaluate --out' folders, not a store ({paths[0]})")
    if args.what == "corpus":
        return viz.corpus_figure(paths, metric=args.metric)
    if len(paths) != 1:
        raise ValueError(f"--what {args.what} draws one results folder; got {len(paths)}")
    if args.what == "confusion":
        return viz.confusion_figure(paths[0], seed=args.seed)
    if args.what == "au-f1":
        return viz.au_f1_figure(paths[0])
    return _tsne_results(viz.load_results(paths[0]))


def run(args: argparse.Namespace) -> int:
    """Draw and write the figure; 2 on bad input."""
    from ..errors import MefastError

    if args.n < 1:  # gallery_image takes the first n done samples: 0 or fewer drew "no finished samples"
        return fail("show", f"-n must be at least 1, got {args.n}")
    out = args.out if args.out is not None else Path(f"{args.what}.png")
    try:
        fig = draw(args)
        from ..viz import save_figure

        path = save_figure(fig, out)
    except ModuleNotFoundError as exc:
        if exc.name not in ("matplotlib", "PIL", "torch"):
            raise
        extra = "train" if exc.name == "torch" else "viz"
        print(f"mefast show --what {args.what} needs {exc.name}: pip install 'mefast[{extra}]'", file=sys.stderr)
        return 2
    except (MefastError, ValueError, FileNotFoundError, KeyError) as exc:
        return fail("show", exc)
    print(f"wrote {path}")
    return 0
