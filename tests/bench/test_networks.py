"""The networks Table 3 times: from run directories, or trained briefly."""

import json

import torch

from neuralinv.bench import networks
from neuralinv.nets.checkpoint import save_network


def test_networks_from_runs(tmp_path):
    """Run directories are found recursively; the lowest seed's checkpoint is used."""
    run = tmp_path / "runs" / "first-2fc"
    run.mkdir(parents=True)
    for seed in (1, 0):
        net = networks.random_network("2x2-first", "2fc", seed=seed)
        save_network(net, run / f"seed-{seed}.safetensors")
    (run / "run.json").write_text(
        json.dumps(
            {
                "config": {"dataset": "2x2-first", "model": "2fc"},
                "checkpoints": {"1": "seed-1.safetensors", "0": "seed-0.safetensors"},
            }
        )
    )
    found = networks.networks_from_runs([tmp_path])
    assert set(found) == {("2x2-first", "2fc")}
    expected = networks.random_network("2x2-first", "2fc", seed=0)
    assert torch.equal(found[("2x2-first", "2fc")].layers[0][0], expected.layers[0][0])


def test_short_training_records_its_steps():
    nets = networks.short_training(["3x3"], ["2fc-small"], steps=3)
    net = nets[("3x3", "2fc-small")]
    assert net.info["trained_steps"] == 3 and net.layer_sizes == [9, 18, 9]
