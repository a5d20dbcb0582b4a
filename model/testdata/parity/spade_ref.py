"""PyTorch reference of the SPADE networks (Park et al., CVPR 2019).

Written for this project's parity fixtures. The module structure and hence the
state_dict key names and shapes follow the official NVlabs/SPADE code, so a
checkpoint of the official code loads here with strict=True and vice versa:

  SPADEGenerator          netG  (fc, head_0, G_middle_0/1, up_0..up_3[, up_4], conv_img)
  ConvEncoder             netE  (layer1..layer6, fc_mu, fc_var)
  MultiscaleDiscriminator netD  (discriminator_K.modelN...)

Differences from the official code, none visible in the state_dict:
  * options are plain constructor arguments instead of an argparse opt;
  * the param-free batch norm of SPADE is nn.BatchNorm2d(affine=False), which in
    eval mode computes exactly what SynchronizedBatchNorm2d computes (both call
    F.batch_norm with the running statistics, eps 1e-5) and has the same keys;
  * the SPADE hidden width `nhidden` is a parameter (official: hard-coded 128);
  * ConvEncoder takes n_layers (5 or 6) and resizes its input to 4*2^n_layers.
    The official encoder builds layer6 only when crop_size >= 256 but always
    resizes to 256x256, so its 5-layer variant (crop_size < 256) fails in
    fc_mu (8x8 grid instead of 4x4). n_layers=6 is the official network;
    n_layers=5 with a 128x128 input is this project's extension.

Only torch is needed. The helpers one_hot / get_edges / preprocess reproduce
Pix2PixModel.preprocess_input.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

__all__ = [
    "SPADE", "SPADEResnetBlock", "SPADEGenerator", "ConvEncoder",
    "NLayerDiscriminator", "MultiscaleDiscriminator",
    "semantic_nc", "one_hot", "get_edges", "preprocess", "latent_size",
]


# ----------------------------------------------------------------------------
# input preprocessing (Pix2PixModel.preprocess_input)

def semantic_nc(label_nc, contain_dontcare, instance):
    """Channels of the generator's label input."""
    return label_nc + (1 if contain_dontcare else 0) + (1 if instance else 0)


def one_hot(labels, label_nc, contain_dontcare):
    """labels: int64 (N,1,H,W) class ids in [0, label_nc] (label_nc = dontcare).
    Returns float32 (N, label_nc[+1], H, W)."""
    n, _, h, w = labels.shape
    nc = label_nc + 1 if contain_dontcare else label_nc
    out = torch.zeros(n, nc, h, w, dtype=torch.float32)
    return out.scatter_(1, labels.long(), 1.0)


def get_edges(t):
    """Instance boundary map: 1 where a pixel differs from any of its four
    neighbours (left, right, up, down), else 0. t: (N,1,H,W) ids."""
    edge = torch.zeros(t.shape, dtype=torch.bool)
    dx = t[:, :, :, 1:] != t[:, :, :, :-1]
    dy = t[:, :, 1:, :] != t[:, :, :-1, :]
    edge[:, :, :, 1:] |= dx
    edge[:, :, :, :-1] |= dx
    edge[:, :, 1:, :] |= dy
    edge[:, :, :-1, :] |= dy
    return edge.float()


def preprocess(labels, label_nc, contain_dontcare, instance=None):
    """One-hot labels, then (if given) the instance edge map as last channel."""
    sem = one_hot(labels, label_nc, contain_dontcare)
    if instance is not None:
        sem = torch.cat((sem, get_edges(instance)), dim=1)
    return sem


# ----------------------------------------------------------------------------
# generator

def _param_free_norm(norm, nc):
    if norm in ("batch", "syncbatch"):
        return nn.BatchNorm2d(nc, affine=False)
    if norm == "instance":
        return nn.InstanceNorm2d(nc, affine=False)
    raise ValueError("unknown param-free norm %r" % norm)


class SPADE(nn.Module):
    """out = norm(x) * (1 + gamma(seg)) + beta(seg); seg resized (nearest) to x."""

    def __init__(self, norm_nc, label_nc, norm="batch", nhidden=128, ks=3):
        super().__init__()
        self.param_free_norm = _param_free_norm(norm, norm_nc)
        pw = ks // 2
        self.mlp_shared = nn.Sequential(
            nn.Conv2d(label_nc, nhidden, kernel_size=ks, padding=pw),
            nn.ReLU(),
        )
        self.mlp_gamma = nn.Conv2d(nhidden, norm_nc, kernel_size=ks, padding=pw)
        self.mlp_beta = nn.Conv2d(nhidden, norm_nc, kernel_size=ks, padding=pw)

    def forward(self, x, segmap):
        normalized = self.param_free_norm(x)
        segmap = F.interpolate(segmap, size=x.shape[2:], mode="nearest")
        actv = self.mlp_shared(segmap)
        gamma = self.mlp_gamma(actv)
        beta = self.mlp_beta(actv)
        return normalized * (1 + gamma) + beta


class SPADEResnetBlock(nn.Module):
    def __init__(self, fin, fout, semantic_nc, norm="batch", nhidden=128, spectral=True):
        super().__init__()
        self.learned_shortcut = fin != fout
        fmiddle = min(fin, fout)
        self.conv_0 = nn.Conv2d(fin, fmiddle, kernel_size=3, padding=1)
        self.conv_1 = nn.Conv2d(fmiddle, fout, kernel_size=3, padding=1)
        if self.learned_shortcut:
            self.conv_s = nn.Conv2d(fin, fout, kernel_size=1, bias=False)
        if spectral:
            self.conv_0 = spectral_norm(self.conv_0)
            self.conv_1 = spectral_norm(self.conv_1)
            if self.learned_shortcut:
                self.conv_s = spectral_norm(self.conv_s)
        self.norm_0 = SPADE(fin, semantic_nc, norm, nhidden)
        self.norm_1 = SPADE(fmiddle, semantic_nc, norm, nhidden)
        if self.learned_shortcut:
            self.norm_s = SPADE(fin, semantic_nc, norm, nhidden)

    def forward(self, x, seg):
        if self.learned_shortcut:
            x_s = self.conv_s(self.norm_s(x, seg))
        else:
            x_s = x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), 0.2))
        return x_s + dx


_UP_LAYERS = {"normal": 5, "more": 6, "most": 7}


def latent_size(crop_size, aspect_ratio, upsampling):
    """(sw, sh) as SPADEGenerator.compute_latent_vector_size."""
    sw = crop_size // (2 ** _UP_LAYERS[upsampling])
    sh = round(sw / aspect_ratio)
    return sw, sh


class SPADEGenerator(nn.Module):
    def __init__(self, ngf, semantic_nc, crop_size=256, aspect_ratio=1.0,
                 upsampling="normal", norm="batch", nhidden=128,
                 use_vae=False, z_dim=256, spectral=True):
        super().__init__()
        if upsampling not in _UP_LAYERS:
            raise ValueError("upsampling %r" % upsampling)
        nf = ngf
        self.ngf, self.z_dim, self.use_vae = ngf, z_dim, use_vae
        self.upsampling = upsampling
        self.sw, self.sh = latent_size(crop_size, aspect_ratio, upsampling)

        if use_vae:
            self.fc = nn.Linear(z_dim, 16 * nf * self.sw * self.sh)
        else:
            self.fc = nn.Conv2d(semantic_nc, 16 * nf, 3, padding=1)

        def blk(fin, fout):
            return SPADEResnetBlock(fin, fout, semantic_nc, norm, nhidden, spectral)

        self.head_0 = blk(16 * nf, 16 * nf)
        self.G_middle_0 = blk(16 * nf, 16 * nf)
        self.G_middle_1 = blk(16 * nf, 16 * nf)
        self.up_0 = blk(16 * nf, 8 * nf)
        self.up_1 = blk(8 * nf, 4 * nf)
        self.up_2 = blk(4 * nf, 2 * nf)
        self.up_3 = blk(2 * nf, 1 * nf)
        final_nc = nf
        if upsampling == "most":
            self.up_4 = blk(1 * nf, nf // 2)
            final_nc = nf // 2
        self.conv_img = nn.Conv2d(final_nc, 3, 3, padding=1)
        self.up = nn.Upsample(scale_factor=2)  # nearest

    def forward(self, seg, z=None):
        if self.use_vae:
            if z is None:
                z = torch.randn(seg.size(0), self.z_dim, dtype=torch.float32)
            x = self.fc(z).view(-1, 16 * self.ngf, self.sh, self.sw)
        else:
            x = self.fc(F.interpolate(seg, size=(self.sh, self.sw)))  # nearest

        x = self.head_0(x, seg)
        x = self.up(x)
        x = self.G_middle_0(x, seg)
        if self.upsampling in ("more", "most"):
            x = self.up(x)
        x = self.G_middle_1(x, seg)
        x = self.up_0(self.up(x), seg)
        x = self.up_1(self.up(x), seg)
        x = self.up_2(self.up(x), seg)
        x = self.up_3(self.up(x), seg)
        if self.upsampling == "most":
            x = self.up_4(self.up(x), seg)
        x = self.conv_img(F.leaky_relu(x, 0.2))
        return torch.tanh(x)


# ----------------------------------------------------------------------------
# encoder and discriminator: convs built by get_nonspade_norm_layer

def _norm_layer(conv, norm):
    """get_nonspade_norm_layer for 'spectralinstance' (official default for
    E and D), 'spectral' / 'none' variants also accepted."""
    if norm.startswith("spectral"):
        conv = spectral_norm(conv)
        sub = norm[len("spectral"):]
    else:
        sub = norm
    if sub in ("", "none"):
        return conv
    # the bias before a norm layer is removed
    if getattr(conv, "bias", None) is not None:
        delattr(conv, "bias")
        conv.register_parameter("bias", None)
    if sub == "instance":
        return nn.Sequential(conv, nn.InstanceNorm2d(conv.out_channels, affine=False))
    if sub in ("batch", "sync_batch"):
        return nn.Sequential(conv, nn.BatchNorm2d(conv.out_channels, affine=True))
    raise ValueError("unknown norm %r" % norm)


class ConvEncoder(nn.Module):
    """Style encoder. Input (N,3,H,W) in [-1,1], bilinearly resized
    (align_corners=False, no antialias) to 4*2^n_layers square unless already
    that size. Returns (mu, logvar), each (N, 256): the output width 256 is
    hard-coded officially, independent of z_dim."""

    def __init__(self, ngf, n_layers=6, norm="spectralinstance", out_dim=256):
        super().__init__()
        if n_layers not in (5, 6):
            raise ValueError("n_layers must be 5 or 6")
        kw, pw, ndf = 3, 1, ngf
        self.n_layers = n_layers
        self.size = 4 << n_layers
        self.layer1 = _norm_layer(nn.Conv2d(3, ndf, kw, stride=2, padding=pw), norm)
        self.layer2 = _norm_layer(nn.Conv2d(ndf * 1, ndf * 2, kw, stride=2, padding=pw), norm)
        self.layer3 = _norm_layer(nn.Conv2d(ndf * 2, ndf * 4, kw, stride=2, padding=pw), norm)
        self.layer4 = _norm_layer(nn.Conv2d(ndf * 4, ndf * 8, kw, stride=2, padding=pw), norm)
        self.layer5 = _norm_layer(nn.Conv2d(ndf * 8, ndf * 8, kw, stride=2, padding=pw), norm)
        if n_layers == 6:
            self.layer6 = _norm_layer(nn.Conv2d(ndf * 8, ndf * 8, kw, stride=2, padding=pw), norm)
        s0 = 4
        self.fc_mu = nn.Linear(ndf * 8 * s0 * s0, out_dim)
        self.fc_var = nn.Linear(ndf * 8 * s0 * s0, out_dim)

    def forward(self, x):
        if x.size(2) != self.size or x.size(3) != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear",
                              align_corners=False)
        act = lambda t: F.leaky_relu(t, 0.2)
        x = self.layer1(x)
        x = self.layer2(act(x))
        x = self.layer3(act(x))
        x = self.layer4(act(x))
        x = self.layer5(act(x))
        if self.n_layers == 6:
            x = self.layer6(act(x))
        x = act(x)
        x = x.reshape(x.size(0), -1)
        return self.fc_mu(x), self.fc_var(x)


class NLayerDiscriminator(nn.Module):
    """PatchGAN: model0 = conv(s2)+lrelu (plain conv with bias), model1..n-1 =
    norm_layer(conv)+lrelu (last of them stride 1), model_n = conv(1 ch).
    All kernels 4x4, padding 2. forward returns every model's output."""

    def __init__(self, input_nc, ndf=64, n_layers_D=4, norm="spectralinstance"):
        super().__init__()
        kw, padw, nf = 4, 2, ndf
        seq = [[nn.Conv2d(input_nc, nf, kernel_size=kw, stride=2, padding=padw),
                nn.LeakyReLU(0.2, False)]]
        for n in range(1, n_layers_D):
            nf_prev, nf = nf, min(nf * 2, 512)
            stride = 1 if n == n_layers_D - 1 else 2
            seq += [[_norm_layer(nn.Conv2d(nf_prev, nf, kernel_size=kw, stride=stride, padding=padw), norm),
                     nn.LeakyReLU(0.2, False)]]
        seq += [[nn.Conv2d(nf, 1, kernel_size=kw, stride=1, padding=padw)]]
        for n, s in enumerate(seq):
            self.add_module("model" + str(n), nn.Sequential(*s))

    def forward(self, x):
        results = [x]
        for m in self.children():
            results.append(m(results[-1]))
        return results[1:]


class MultiscaleDiscriminator(nn.Module):
    """num_D PatchGANs; the input is halved between them by
    avg_pool2d(3, stride 2, padding 1, count_include_pad=False).
    Returns a list (per scale) of lists (per layer) of feature maps."""

    def __init__(self, input_nc, ndf=64, n_layers_D=4, num_D=2, norm="spectralinstance"):
        super().__init__()
        for i in range(num_D):
            self.add_module("discriminator_%d" % i,
                            NLayerDiscriminator(input_nc, ndf, n_layers_D, norm))

    @staticmethod
    def downsample(x):
        return F.avg_pool2d(x, kernel_size=3, stride=2, padding=[1, 1],
                            count_include_pad=False)

    def forward(self, x):
        result = []
        for d in self.children():
            result.append(d(x))
            x = self.downsample(x)
        return result
