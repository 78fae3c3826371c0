"""Limits (data key length, value size, record size, number of keys) give
clear Python errors at every layer: store, session, Django, Flask."""

import pytest
from django.test import override_settings

import sessile
import sessile.django

LIMITS = dict(max_data_key_len=16, max_value_size=1024, max_record_size=4096, max_keys=5)


@pytest.fixture
def small(tmp_path):
    with sessile.open(str(tmp_path / "small.db"), **LIMITS) as engine:
        yield engine


def test_data_key_too_long(small):
    with pytest.raises(sessile.TooLarge, match="(?i)key") as info:
        small.create({"k" * 17: 1})
    assert isinstance(info.value, ValueError) and info.value.code == 6
    small.create({"k" * 16: 1})


def test_value_too_large(small):
    with pytest.raises(sessile.TooLarge, match="(?i)value"):
        small.create({"v": "x" * 2000})
    session = small.session()
    with pytest.raises(sessile.TooLarge):
        session["v"] = b"x" * 2000
    key = small.create({"v": 1})
    with pytest.raises(sessile.TooLarge):
        small.save_delta(key, {"v": "x" * 2000})
    assert small.load(key).data == {"v": 1}


def test_record_too_large(small):
    data = {f"k{i}": "x" * 1000 for i in range(5)}
    with pytest.raises(sessile.TooLarge, match="(?i)record"):
        small.create(data)


def test_too_many_keys(small):
    with pytest.raises(sessile.TooLarge, match="(?i)keys"):
        small.create({f"k{i}": i for i in range(6)})
    session = small.session()
    for i in range(5):
        session[f"k{i}"] = i
    with pytest.raises(sessile.TooLarge):
        session["k5"] = 5


def test_django_save_of_oversize_value_raises_too_large(tmp_path):
    with override_settings(SESSILE_PATH=str(tmp_path / "dj.db"), SESSILE_OPTIONS=LIMITS):
        store = sessile.django.SessionStore()
        store["big"] = "x" * 2000
        with pytest.raises(sessile.TooLarge):
            store.save()
        assert store.session_key is None
