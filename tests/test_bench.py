"""The benchmarks' shared helpers (bench/common.py) and their named variants."""
import json

import pytest
import torch

from bench.common import RESULTS, VARIANTS, load_variant, supervised_fine_tune
from mri_inpaint.config import AdaptConfig, TrainConfig
from mri_inpaint.masks import corrupt
from mri_inpaint.model import InpaintNet
from mri_inpaint.sources import AnatomyParams


def test_every_variant_file_names_real_settings():
    names = sorted(p.stem for p in VARIANTS.glob("*.json"))
    assert "full6" in names and "elastic075" in names
    for name in names:
        variant = load_variant(name)
        AnatomyParams.from_overrides(variant["anatomy"])  # unknown source settings raise
        assert set(variant["train"]) <= set(TrainConfig.__dataclass_fields__), name
        assert variant["description"] and "\n" not in variant["description"]


def test_variants_match_the_settings_their_results_record():
    from bench.tables import FRAMING_VARIANTS, RETIRED_VARIANTS, VARIANT_ROWS

    for path in RESULTS.glob("loho-*.json"):
        settings = json.loads(path.read_text())["settings"]
        name = settings.get("variant") or path.stem.removeprefix("loho-")  # a rerun's file names its variant
        if name == "full":  # the robex run at full6's length, made before the sixth head joined
            name = "full6"
        if name in RETIRED_VARIANTS:  # its option left the package; the table still shows the result
            assert name in VARIANT_ROWS + FRAMING_VARIANTS and not (VARIANTS / f"{name}.json").exists(), name
            continue
        variant = load_variant(name)
        assert settings["train"] == variant["train"], name
        assert (settings["num_images"], settings["epochs"]) == (variant.get("num_images", 8000),
                                                                variant.get("epochs", 2)), name


def test_a_leave_one_head_out_run_trains_on_every_other_head():
    from bench.common import loho_config
    from mri_inpaint.paths import Paths
    from mri_inpaint.pipeline import image_source
    from mri_inpaint.sources.heads import HEADS

    for head in ("colin27", "robex"):
        cfg = loho_config(head, 100, 1)
        drawn = set(image_source(cfg.data, Paths.default()).head_names)
        assert drawn == set(HEADS) - {head}, head  # the notebook's held-out head is not left out here
        assert (cfg.data.num_images, cfg.train.epochs, cfg.device) == (100, 1, "cpu")


def test_unknown_or_malformed_variant_is_refused(tmp_path, monkeypatch):
    assert load_variant(None) == {"description": "the defaults", "anatomy": {}, "train": {}}
    with pytest.raises(FileNotFoundError, match="choose one of .*elastic075"):
        load_variant("no-such-variant")
    monkeypatch.setattr("bench.common.VARIANTS", tmp_path)
    (tmp_path / "bad.json").write_text(json.dumps({"anatomy": {}, "epoch": 3}))
    with pytest.raises(ValueError, match="unknown key.*epoch"):
        load_variant("bad")


def test_supervised_fine_tune_learns_the_gaps_of_its_images_and_leaves_the_original(clean_images, mask):
    torch.manual_seed(0)
    model = InpaintNet(chans=8, num_pool_layers=2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    labelled = clean_images[:8].copy()
    labelled[..., mask] = 0.9  # a truth under the gaps that no interpolation of the observed pixels gives
    x, m = torch.from_numpy(corrupt(labelled, mask)), torch.from_numpy(mask)

    def gap_error(net):
        with torch.no_grad():
            return float((net(x, m) - torch.from_numpy(labelled))[..., m].abs().mean())
    tuned = supervised_fine_tune(model, labelled, mask, labelled, AdaptConfig(steps=40, batch_size=4, lr=3e-3))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert gap_error(tuned) < 0.5 * gap_error(model)
    out = tuned(x, m)
    assert torch.equal(out[..., ~m], x[..., ~m])  # observed pixels pass through


def test_results_document_matches_its_files():
    from bench.tables import BLOCK, DOC, TABLES, fill_doc

    text = DOC.read_text()
    names = [m.group(2) for m in BLOCK.finditer(text)]
    assert sorted(names) == sorted(TABLES)  # every table appears once
    assert fill_doc(text) == text, "docs/results.md differs from its result files: run python -m bench.tables --write"


def test_tables_are_built_from_the_files(monkeypatch, tmp_path):
    from bench import tables

    (tmp_path / "loho.json").write_text(json.dumps({"heads": {"robex": {
        "rows": [{"method": "row-wise linear", "psnr_gaps": 20.0}, {"method": "biharmonic", "psnr_gaps": 21.0},
                 {"method": "U-Net", "psnr_gaps": 25.456}, {"method": "U-Net, shift-averaged", "psnr_gaps": 25.5}],
        "real_check_psnr_shift_averaged": 27.0}}}))
    monkeypatch.setattr(tables, "RESULTS", tmp_path)
    assert tables.table("loho").splitlines()[-1] == "| robex | 20.00 | 21.00 | 25.46 | +4.46 | 25.50 | 27.00 |"
    doc = "a\n<!-- table: loho -->\nstale\n<!-- /table -->\nb\n<!-- table: loho -->\n<!-- /table -->\n"
    filled = tables.fill_doc(doc)
    assert "stale" not in filled and filled.count("+4.46") == 2 and filled.startswith("a\n") and "\nb\n" in filled


def test_benchmark_caches_stay_apart_from_the_jobs(monkeypatch):
    from bench.common import bench_paths
    from mri_inpaint.paths import Paths
    monkeypatch.delenv("MRI_DATA_DIR", raising=False)
    job, bench = Paths.default(run_name="main"), bench_paths("loho/robex")
    assert bench.data_dir == job.data_dir / "bench" and bench.run_dir == job.root / "runs" / "loho" / "robex"
    assert bench.output == job.output  # a benchmark never writes the deliverable: it has no fill step


def test_joint_loss_scores_real_observed_pixels_weighted_and_refreshes_pseudo_fills(corrupted_images, mask,
                                                                                     monkeypatch):
    from bench import joint

    torch.manual_seed(0)
    model = InpaintNet(chans=8, num_pool_layers=2).train()
    refreshes = []
    real_predict = joint.predict

    def counting_predict(net, images, m):
        refreshes.append(net.test_time_shifts)
        return real_predict(net, images, m)
    monkeypatch.setattr(joint, "predict", counting_predict)
    one = joint.JointLoss(corrupted_images, mask, weight=1.0, batch_size=4, refresh_every=2)
    two = joint.JointLoss(corrupted_images, mask, weight=2.0, batch_size=4, refresh_every=2)
    losses = [(one(model).item(), two(model).item()) for _ in range(5)]
    assert refreshes == [1] * 6  # steps 0, 2, 4 of each, with the plain fill
    assert model.training  # the refresh leaves the network in train mode
    for a, b in losses:
        assert a > 0 and b == pytest.approx(2 * a, rel=1e-5)


def test_framing_variants_measure_each_variant_on_the_same_draw(tmp_path):
    from types import SimpleNamespace

    import numpy as np

    from bench.framing import compare_variants
    from mri_inpaint.sources import AnatomySource

    mask = np.zeros((64, 64), dtype=bool)
    mask[:, 1::4] = True
    test = SimpleNamespace(images=AnatomySource().sample(30, seed=7) * ~mask, mask=mask)
    out = tmp_path / "framing-variants.json"
    compare_variants(["framing-matched-elastic10", "elastic10-knots3"], 40, test, out)
    sets = json.loads(out.read_text())["sets"]
    assert list(sets) == ["framing-matched-elastic10", "elastic10-knots3"]
    assert sets["elastic10-knots3"]["anatomy"] == {"elastic_frac": 0.1, "elastic_knots": 3, "crown_ratio_range": None}
    # the smoother field changes the images, so at least one statistic's mean moves
    a, b = (sets[n]["framing"]["stats"] for n in sets)
    assert any(a[k]["mean"] != b[k]["mean"] for k in a)
