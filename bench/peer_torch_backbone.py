# Peer for the 224-px training bench (bench/train.ts): PyTorch on CPU training torchvision's
# mobilenet_v2 or resnet50 (120 classes, no pretrained weights), Adam, cross-entropy, random data,
# as ../shared/bench/peer_torch_train.py does, with the warm-up steps and thread count as arguments
# (a 224-px step takes seconds on two cores: its fixed five warm-up steps cost minutes). One JSON line.
# usage: peer_torch_backbone.py steps batch model size warmup threads
import json, sys, time
import torch, torch.nn.functional as F, torchvision

steps, batch, name, size, warmup, threads = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
torch.manual_seed(1)
torch.set_num_threads(threads)
model = torchvision.models.mobilenet_v2(num_classes=120) if name == "mobilenetv2" else torchvision.models.resnet50(num_classes=120)
opt = torch.optim.Adam(model.parameters(), 1e-3)
x, y = torch.randn(batch, 3, size, size), torch.randint(0, 120, (batch,))

def step():
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()

for _ in range(warmup):
    step()
t, c = time.perf_counter(), time.process_time()
for _ in range(steps):
    step()
s, cs = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"name": f"peer: PyTorch CPU training torchvision {name} {size}x{size} batch {batch}", "images_per_s": round(steps * batch / s, 3),
                  "images_per_cpu_s": round(steps * batch / cs, 3), "threads": torch.get_num_threads(), "torch": torch.__version__,
                  "mkldnn": torch.backends.mkldnn.is_available(), "cpu_capability": torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else "?"}))
