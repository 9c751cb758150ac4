"""The seed reports' setups as `dvc exp run -S` lists: `dvc exp run $(python -m apeart.presets gatys-2016)`.

A preset never edits params.yaml; it prints the `-S key=value` words to put on `dvc exp run`. Values are
YAML flow text without spaces, as `-S` parses them (so the shell's word splitting keeps each one whole).
An unknown name prints an option `dvc exp run` refuses, so the command stops instead of running the defaults.
"""
from __future__ import annotations

import sys

TUTORIAL_STYLE = "[conv1_1,conv1_2,conv2_1,conv2_2,conv3_1]"  # the PyTorch tutorial's conv_1 .. conv_5
FIRST_OF_BLOCKS = "[conv1_1,conv2_1,conv3_1,conv4_1,conv5_1]"
RADFORD = {"gan.epochs": "25", "gan.batch_size": "64", "gan.ngf": "64", "gan.ndf": "64", "gan.lr": "0.0002",
           "gan.diffaugment": '""', "gan.ema_decay": "0"}

# name -> (what it reproduces, {param: value}). Torchvision's VGG19/VGG16 weights are not offline here
# (no package on the reachable registries ships them): presets keep `vgg19_caffe` and say which param to change.
PRESETS: dict[str, tuple[str, dict[str, str]]] = {
    "dcgan-gatys-paper": (  # seed 000
        "BAYC DCGAN (Radford et al.: batch 64, 25 epochs, 3,925 steps on 10k images) + Gatys with content and "
        "style on conv1_1..conv5_1, unnormalised Gram (sum356 convention), Adam on the image, 356 px, 2000 steps, "
        "beta 1e-5 and its sweep 1e-7..1e-4 (GPU; seed 000 used torchvision's VGG19: -S nst.backbone=vgg19 where cached)",
        {"data.limit": "10000", **RADFORD, "nst.size": "356", "nst.steps": "2000", "nst.optimizer": "adam",
         "nst.lr": "0.255", "nst.content_layers": FIRST_OF_BLOCKS, "nst.style_layers": FIRST_OF_BLOCKS,
         "nst.gram_norm": "sum356", "nst.beta": "1e-05", "nst.sweep_betas": "[1e-07,1e-06,1e-05,0.0001]"}),
    "gatys-2016": (  # seed 001
        "Gatys et al. as seed 001 studies it: content conv4_2, style conv1_1..conv5_1, Gatys' normalisation, "
        "average pooling, L-BFGS, reconstructions per layer at 128 px (seed 001 compared VGG16: "
        "-S nst.backbone=vgg16 where cached; its optimiser and pooling ablations: experiments pipeline)",
        {"nst.content_layers": "[conv4_2]", "nst.style_layers": FIRST_OF_BLOCKS, "nst.gram_norm": "gatys",
         "nst.beta": "1000", "nst.pooling": "avg", "nst.optimizer": "lbfgs", "nst.reconstruct_size": "128",
         "nst.reconstruct_steps": "300"}),
    "tutorial-texnet": (  # seed 002
        "The PyTorch tutorial's Gatys (content conv_4 = conv2_2, style conv_1..conv_5, Gram / (N M), MSE, style "
        "weight 1e10, content 1, 300 L-BFGS steps from white noise, 256 px) beside its texture network "
        "(Adam lr 0.1, 600 epochs over 18 images, batch 1, 256 px; GPU)",
        {"nst.size": "256", "nst.steps": "300", "nst.init": "noise", "nst.gram_norm": "mean",
         "nst.content_layers": "[conv2_2]", "nst.style_layers": TUTORIAL_STYLE, "nst.alpha": "1",
         "nst.beta": "10000000000.0", "texnet.size": "256", "texnet.lr": "0.1", "texnet.epochs": "600",
         "texnet.train_images": "18", "texnet.batch_size": "1", "texnet.alpha": "1",
         "texnet.beta": "10000000000.0"}),
    "ast-gan": (  # seed 003
        "Ast-GAN: DCGAN with LeakyReLU 0.3, lr 2e-4, batch 128, label smoothing 0.85 -> 0.95; NST with the "
        "tutorial's losses on conv_1..conv_5, the style batch's mean Gram, style weight 5e4 and its sweep",
        {"gan.leaky_slope": "0.3", "gan.lr": "0.0002", "gan.batch_size": "128", "gan.real_label": "0.85",
         "gan.real_label_late": "0.95", "nst.style_source": "gan", "nst.gram_norm": "mean",
         "nst.content_layers": "[conv2_2]", "nst.style_layers": TUTORIAL_STYLE, "nst.beta": "50000.0",
         "nst.sweep_betas": "[500.0,5000.0,50000.0,500000.0,5000000.0]"}),
    "gatys-thesis": (  # seed 004
        "The Gatys thesis: content + style + total-variation loss, 20 L-BFGS iterations (it used VGG16: "
        "-S nst.backbone=vgg16 where cached)",
        {"nst.steps": "20", "nst.optimizer": "lbfgs", "nst.gram_norm": "gatys", "nst.content_layers": "[conv4_2]",
         "nst.style_layers": FIRST_OF_BLOCKS, "nst.beta": "1000", "nst.tv_weight": "10000.0"}),
}


def flags(name: str) -> list[str]:
    """`-S key=value` words of preset `name`."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return [word for key, value in PRESETS[name][1].items() for word in ("-S", f"{key}={value}")]


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in PRESETS:
        print("usage: dvc exp run $(python -m apeart.presets NAME)\n" +
              "\n".join(f"  {name}: {what}" for name, (what, _) in PRESETS.items()), file=sys.stderr)
        # `$( )` drops the exit status: an option DVC does not know makes `dvc exp run` fail before it runs.
        print(f"--unknown-apeart-preset={'_'.join(argv) or 'none'}")
        return 2
    print(" ".join(flags(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
