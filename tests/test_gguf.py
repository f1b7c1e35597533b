import pytest

from oci_magic.errors import ModelNotFound, NotGGUF
from oci_magic.backends.gguf import read_gguf


def test_reads_the_embedded_models_header(model_path):
    info = read_gguf(model_path)
    assert info.architecture == "llama"
    assert info.context_length == 8192
    assert info.tensor_count > 0
    assert "<|im_start|>" in info.chat_template


@pytest.mark.parametrize("content,match", [
    (b"", "no GGUF magic"),
    (b"PK\x03\x04 a zip file", "no GGUF magic"),
    (b"GGUF", "truncated or corrupt"),
    (b"GGUF\x03\x00\x00\x00" + b"\x01" * 8, "truncated or corrupt"),
])
def test_rejects_files_that_are_not_gguf(tmp_path, content, match):
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    with pytest.raises(NotGGUF, match=match):
        read_gguf(path)


def test_rejects_a_truncated_model(tmp_path, model_path):
    path = tmp_path / "cut.gguf"
    with open(model_path, "rb") as f:
        path.write_bytes(f.read(200_000))  # inside the vocabulary array
    with pytest.raises(NotGGUF, match="truncated"):
        read_gguf(path)


def test_missing_and_directory(tmp_path):
    with pytest.raises(ModelNotFound, match="model file not found"):
        read_gguf(tmp_path / "nope.gguf")
    with pytest.raises(ModelNotFound, match="not a file"):
        read_gguf(tmp_path)
