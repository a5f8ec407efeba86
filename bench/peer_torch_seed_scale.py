# Peer of `npm run bench -- seed-scale`: one epoch of the lecture's chain in PyTorch on CPU, one JSON line.
#   ImageFolder -> Resize(224x224, bilinear) -> RandomHorizontalFlip -> ColorJitter(brightness 0.2)
#   -> DataLoader(batch 16, shuffle, WORKERS worker processes) -> CutMix (alpha 1, on the batch)
#   -> torchvision's mobilenet_v2 (120 classes, no pretrained weights), Adam 1e-3, soft-target cross-entropy.
# Every core for torch's threads, as bench/train.ts's peer. Peak RSS: this process, and the
# largest DataLoader worker (ru_maxrss of the children), from getrusage.
# usage: peer_torch_seed_scale.py FOLDER [workers=2] [batch=16] [size=224] [alpha=1.0]
import json, os, resource, sys, time
import numpy as np
import torch, torch.nn.functional as F
import torchvision
from torchvision import datasets, transforms

folder = sys.argv[1]
workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 16
size = int(sys.argv[4]) if len(sys.argv) > 4 else 224
alpha = float(sys.argv[5]) if len(sys.argv) > 5 else 1.0
torch.manual_seed(1)
torch.set_num_threads(os.cpu_count() or 1)
rng = np.random.default_rng(1)

chain = transforms.Compose([
    transforms.Resize((size, size), interpolation=transforms.InterpolationMode.BILINEAR),
    transforms.RandomHorizontalFlip(),
    transforms.ColorJitter(brightness=0.2),
    transforms.ToTensor(),
])
data = datasets.ImageFolder(folder, transform=chain)
classes = len(data.classes)
loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True, num_workers=workers, persistent_workers=False)

def cutmix(x, y):
    """One box a batch, pasted from the batch reversed; labels mixed by the box's exact area."""
    t = F.one_hot(y, classes).float()
    lam = rng.beta(alpha, alpha)
    h, w = x.shape[2], x.shape[3]
    bh, bw = int(round(h * np.sqrt(1 - lam))), int(round(w * np.sqrt(1 - lam)))
    cy, cx = rng.integers(h), rng.integers(w)
    y0, y1 = max(cy - bh // 2, 0), min(cy + bh // 2, h)
    x0, x1 = max(cx - bw // 2, 0), min(cx + bw // 2, w)
    x = x.clone()
    x[:, :, y0:y1, x0:x1] = x.flip(0)[:, :, y0:y1, x0:x1]
    area = (y1 - y0) * (x1 - x0) / (h * w)
    return x, (1 - area) * t + area * t.flip(0)

model = torchvision.models.mobilenet_v2(num_classes=classes, width_mult=alpha)
opt = torch.optim.Adam(model.parameters(), 1e-3)
model.train()
images = 0
t = time.perf_counter()
for x, y in loader:
    x, target = cutmix(x, y)
    opt.zero_grad()
    loss = torch.sum(-target * F.log_softmax(model(x), 1), 1).mean()
    loss.backward()
    opt.step()
    images += x.shape[0]
s = time.perf_counter() - t
mib = lambda who: resource.getrusage(who).ru_maxrss / 1024
print(json.dumps({"name": f"peer: PyTorch {torch.__version__} DataLoader ({workers} workers) + torchvision mobilenet_v2 {size}x{size} batch {batch}, CutMix, one epoch",
                  "images": images, "seconds": round(s, 2), "images_per_s": round(images / s, 3), "threads": torch.get_num_threads(),
                  "peak_rss_mib": round(mib(resource.RUSAGE_SELF), 1), "worker_peak_rss_mib": round(mib(resource.RUSAGE_CHILDREN), 1)}))
