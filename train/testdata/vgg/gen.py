# Writes the tiny-width VGG19 fixture for train/vgg_test.go:
# vgg_tiny.pth (a torchvision-shaped vgg19 state dict, features.N.* only
# plus one classifier key), x.npy and y.npy (inputs in [-1, 1]), and the
# expected relu1_1 .. relu5_1 features of x (f1.npy .. f5.npy) and the
# VGG loss L(x, y) (loss.npy), computed as the official SPADE VGG19/VGGLoss.
import numpy as np, torch, torch.nn as nn
torch.manual_seed(0)
cfg = [4, 4, 'M', 6, 6, 'M', 8, 8, 8, 8, 'M', 8, 8, 8, 8, 'M', 8, 8, 8, 8, 'M']
layers, c = [], 3
for v in cfg:
    if v == 'M':
        layers.append(nn.MaxPool2d(2, 2))
    else:
        conv = nn.Conv2d(c, v, 3, padding=1)
        nn.init.normal_(conv.weight, 0, (2.0 / (9 * c)) ** 0.5)
        nn.init.normal_(conv.bias, 0, 0.1)
        layers += [conv, nn.ReLU(inplace=True)]
        c = v
features = nn.Sequential(*layers)
sd = {'features.' + k: v.clone() for k, v in features.state_dict().items()}
sd['classifier.0.weight'] = torch.randn(2, 3)
torch.save(sd, 'vgg_tiny.pth')
slices = [features[0:2], features[2:7], features[7:12], features[12:21], features[21:30]]
def vgg(x):
    out = []
    for s in slices:
        x = s(x)
        out.append(x)
    return out
x = torch.rand(2, 3, 16, 16) * 2 - 1
y = torch.rand(2, 3, 16, 16) * 2 - 1
with torch.no_grad():
    fx, fy = vgg(x.clone()), vgg(y.clone())
    w = [1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0]
    loss = sum(wi * nn.functional.l1_loss(a, b) for wi, a, b in zip(w, fx, fy))
np.save('x.npy', x.numpy()); np.save('y.npy', y.numpy())
for i, f in enumerate(fx):
    np.save('f%d.npy' % (i + 1), f.numpy())
np.save('loss.npy', np.array([loss.item()], dtype=np.float32))
print([tuple(f.shape) for f in fx], loss.item())
