"""One name per rule: ``rule='torchvision' | 'caffe'`` (PS RoI Pool) and ``'torchvision' |
'mxnet'`` (deformable PS RoI pooling), ``original`` a deprecated alias of it, and the same
exception (ValueError) for the same mistake in every op and module."""
import pytest
import torch

from mmdet_psroi.ops import DeformPSRoIPool, PSRoIPool, deform_ps_roi_pool, ps_roi_pool

X = torch.randn(1, 2 * 9, 12, 14, generator=torch.Generator().manual_seed(0),
                dtype=torch.float64)
ROIS = torch.tensor([[0, 3.5, 2.5, 40.0, 33.5], [0, 16.0, 8.0, 17.0, 9.0]], dtype=torch.float64)
SCALE = 0.25


def pool(rule=None, **kwargs):
    """ps_roi_pool on X, with rule only when given (else the default)."""
    args = (rule,) if rule is not None else ()
    return ps_roi_pool(X, ROIS, 3, SCALE, *args, **kwargs)


def deform(rule=None, **kwargs):
    kwargs = dict(kwargs, rule=rule) if rule is not None else kwargs
    return deform_ps_roi_pool(X, ROIS, None, 3, SCALE, sample_per_part=2, **kwargs)


def pool_module(**kwargs):
    return PSRoIPool(3, SCALE, **kwargs)(X, ROIS)


def deform_module(**kwargs):
    return DeformPSRoIPool(3, SCALE, sample_per_part=2, **kwargs)(X, ROIS)


# (callable, its rule besides 'torchvision', a rule of the other op)
OPS = [(pool, 'caffe', 'mxnet'), (pool_module, 'caffe', 'mxnet'),
       (deform, 'mxnet', 'caffe'), (deform_module, 'mxnet', 'caffe')]
IDS = ['ps_roi_pool', 'PSRoIPool', 'deform_ps_roi_pool', 'DeformPSRoIPool']


@pytest.mark.parametrize('run, other, _', OPS, ids=IDS)
def test_the_rules_differ_and_the_default_is_torchvisions(run, other, _):
    default = run()
    torch.testing.assert_close(run(rule='torchvision'), default, rtol=0, atol=0)
    assert not torch.allclose(run(rule=other), default)


@pytest.mark.parametrize('run, other, _', OPS, ids=IDS)
@pytest.mark.parametrize('original', [False, True])
def test_original_is_a_deprecated_alias_naming_its_rule(run, other, _, original):
    named = other if original else 'torchvision'
    with pytest.warns(DeprecationWarning, match=rf"original={original} is deprecated; pass "
                                                rf"rule='{named}' instead"):
        aliased = run(original=original)
    torch.testing.assert_close(aliased, run(rule=named), rtol=0, atol=0)


@pytest.mark.parametrize('run, other, foreign', OPS, ids=IDS)
@pytest.mark.parametrize('mistake, message', [
    (dict(rule='foreign'), "rule must be 'torchvision' or '{other}', got '{foreign}'"),
    (dict(rule='Torchvision'), "rule must be 'torchvision' or '{other}', got 'Torchvision'"),
    (dict(rule=True), "rule must be 'torchvision' or '{other}', got True"),
    (dict(original='yes'), r"original must be True \(rule='{other}'\) or False "
                           r"\(rule='torchvision', the default\), got 'yes'"),
    (dict(original=None), 'original must be True'),
    (dict(rule='other', original=False), "rule='{other}' and original=False name different "
                                         'rules; pass rule only'),
])
def test_the_same_mistake_raises_the_same_error_in_every_op(run, other, foreign, mistake,
                                                            message):
    names = {'foreign': foreign, 'other': other}
    mistake = {key: names.get(value, value) if isinstance(value, str) else value
               for key, value in mistake.items()}
    with pytest.raises(ValueError, match=message.format(other=other, foreign=foreign)):
        run(**mistake)


def test_rule_given_with_its_alias_is_accepted():
    with pytest.warns(DeprecationWarning):
        torch.testing.assert_close(pool('caffe', original=True), pool('caffe'), rtol=0, atol=0)


def test_modules_show_the_rule_and_keep_original_readable():
    caffe, mxnet = PSRoIPool(7, rule='caffe'), DeformPSRoIPool(7, rule='mxnet')
    assert repr(caffe) == "PSRoIPool(output_size=(7, 7), spatial_scale=1.0, rule='caffe')"
    assert repr(mxnet).endswith("trans_std=0.1, rule='mxnet')")
    assert caffe.original is True and mxnet.original is True
    assert PSRoIPool(7).original is False and DeformPSRoIPool(7).original is False
