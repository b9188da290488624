"""Run under `torchrun --nproc_per_node 2 tests/ddp_worker.py OUT_DIR`: train a tiny model with DDP (gloo, CPU)
and dump what this rank saw and the weights it ended with, for tests/test_train.py to compare."""
import hashlib, json, sys
from pathlib import Path

from cifake_nb.train import TrainConfig, train

out = Path(sys.argv[1])
cfg = TrainConfig(train_limit=1024, val_limit=256, epochs=1, batch_size=64, lr=0.05, model_kwargs={'widths': [8, 8, 16, 16]},
                  run_dir=str(out / 'run'), wandb='disabled', progress=False, threads=1, device='cpu')
res = train(cfg)
sd = res['model'].state_dict()
h = hashlib.sha256()
for k in sorted(sd): h.update(k.encode()); h.update(sd[k].detach().cpu().numpy().tobytes())
(out / f"rank{res['rank']}.json").write_text(json.dumps(dict(rank=res['rank'], world=res['world_size'], order_head=res['order_head'],
                                                             weights_sha=h.hexdigest())))
