"""layers.py: VGG-19's table of convolutions (Simonyan & Zisserman 2015, configuration E), checked against
torchvision's vgg19().features, and the sizes the layers need."""

import pytest

from stylize import layers
from stylize.errors import LayerError


def test_the_table_is_vgg19s_sixteen_convolutions_in_torchvisions_order():
    from torchvision.models import vgg19

    features = vgg19(weights=None).features
    convs = [i for i, m in enumerate(features) if m.__class__.__name__ == "Conv2d"]
    assert [layer.index for layer in layers.TABLE] == convs and len(convs) == 16
    assert [features[layer.index].out_channels for layer in layers.TABLE] == [layer.channels for layer in layers.TABLE]
    assert layers.LAYERS[0] == "conv1_1" and layers.LAYERS[-1] == "conv5_4"


def test_the_deepest_layer_decides_the_smallest_image_side():
    assert layers.deepest(["conv3_1", "conv1_1", "conv5_1", "conv4_2"]) == "conv5_1"
    assert layers.min_side(["conv1_1"]) == 1 and layers.min_side(["conv4_2"]) == 8
    assert layers.min_side(layers.PAPER_STYLE_LAYERS) == 16  # four 2x2 poolings before block 5
    assert [layer.name for layer in layers.up_to("conv2_1")] == ["conv1_1", "conv1_2", "conv2_1"]


def test_an_unknown_layer_names_every_layer_there_is():
    with pytest.raises(LayerError, match=r"unknown layer 'conv6_1'; VGG-19's layers are conv1_1, conv1_2, conv2_1"):
        layers.check_layer("conv6_1")
    assert layers.check_layer("conv4_2") == "conv4_2"
