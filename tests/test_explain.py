"Grad-CAM in `cifake_nb.explain` against the `grad-cam` package (pytorch_grad_cam), on every registered model."
import numpy as np, pytest, torch
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.image import scale_cam_image
from cifake_nb.core import FAKE, REAL
from cifake_nb.models import create_model
from cifake_nb.explain import class_activation_map, compute_maps, find_layer, grad_cam


class FakeMinusReal:
    "pytorch_grad_cam target: the FAKE−REAL logit difference of one sample."
    def __call__(self, out): return out[..., FAKE] - out[..., REAL]


class RealMinusFake:
    "pytorch_grad_cam target: the REAL−FAKE logit difference of one sample."
    def __call__(self, out): return out[..., REAL] - out[..., FAKE]


def _random_bn_stats(model):
    "Give batch-norm layers non-trivial running statistics so eval-mode maps are not degenerate."
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(0.1 * torch.randn(m.num_features, generator=g))
            m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=g))
    return model.eval()


CASES = [('paper_cnn', 'body'), ('paper_cnn', 'body.3'), ('speednet', 'body'), ('speednet', 'body.2'),
         ('speednet', 'body.1.conv2'), ('resnet18', 'body'), ('resnet18', 'body.resnet.layer3'),
         ('seed_cnn', 'body')]  # the seed project's CNN has no CAM, but Grad-CAM works on its last 4×4 map


@pytest.mark.parametrize('name,layer', CASES)
def test_grad_cam_matches_pytorch_grad_cam(name, layer):
    torch.manual_seed(0)
    model = _random_bn_stats(create_model(name))
    x = torch.rand(3, 3, 32, 32)
    _, ours = grad_cam(model, x, layer, relu=False)
    with GradCAM(model, [find_layer(model, layer)]) as gc:
        ref = gc(x, targets=[FakeMinusReal()] * len(x))
        ag = gc.activations_and_grads
        raw = gc.get_cam_image(x, None, None, ag.activations[0].numpy(), ag.gradients[0].numpy())
        ref_neg = gc(x, targets=[RealMinusFake()] * len(x))  # the opposite question: its map is -ours
    ours = ours.numpy()
    np.testing.assert_allclose(ours, raw, rtol=1e-4, atol=1e-5 * np.abs(raw).max())
    assert np.abs(ours).max() > 0, 'an all-zero map would make the comparisons trivial'
    for signed, r in [(ours, ref), (-ours, ref_neg)]:  # at least one of the two has positive cells to compare
        np.testing.assert_allclose(scale_cam_image(scale_cam_image(np.maximum(signed, 0), (32, 32))), r, atol=1e-4)


@pytest.mark.parametrize('name', ['paper_cnn', 'speednet', 'resnet18'])
def test_grad_cam_on_last_map_is_relu_cam_minus_bias(name):
    torch.manual_seed(0)
    model = _random_bn_stats(create_model(name))
    x = torch.rand(2, 3, 32, 32)
    logits, cam = class_activation_map(model, x)
    b = (model.fc.bias[FAKE] - model.fc.bias[REAL]).item()
    _, gc = grad_cam(model, x)
    h, w = cam.shape[1:]
    torch.testing.assert_close(gc, (cam - b).clamp_min(0) / (h * w), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(cam.mean((1, 2)), logits[:, FAKE] - logits[:, REAL], rtol=1e-4, atol=1e-5)


def test_compute_maps_batches_agree():
    torch.manual_seed(0)
    model = _random_bn_stats(create_model('speednet'))
    imgs = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    for method, layer in [('cam', None), ('gradcam', 'body.2')]:
        l1, m1 = compute_maps(model, imgs, method, layer, batch_size=2)
        l5, m5 = compute_maps(model, imgs, method, layer, batch_size=5)
        np.testing.assert_allclose(m1, m5, rtol=1e-4, atol=1e-5); np.testing.assert_allclose(l1, l5, rtol=1e-4, atol=1e-5)
