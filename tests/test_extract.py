import pytest

from oci_magic.engine.extract import extract_code, closed_block_end

CASES = [
    # (reply, expected code)
    ("```python\nx = 1\n```", "x = 1"),
    ("Sure! Here it is:\n```python\nx = 1\nprint(x)\n```\nThis prints 1.", "x = 1\nprint(x)"),
    ("```py\na = 2\n```", "a = 2"),
    ("```Python\na = 2\n```", "a = 2"),
    ("```\nimport os\nprint(os.sep)\n```", "import os\nprint(os.sep)"),
    ("First:\n```python\na = 1\n```\nThen:\n```python\nb = a + 1\n```", "a = 1\n\nb = a + 1"),
    ("```bash\npip install pandas\n```\n```python\nimport pandas\n```", "import pandas"),
    ("```python\nfor i in range(3):\n    print(i)", "for i in range(3):\n    print(i)"),  # cut off by max_tokens
    ("~~~python\nx = 3\n~~~", "x = 3"),
    ("```python\n>>> x = 1\n>>> print(x)\n1\n```", "x = 1\nprint(x)"),
    ("x = 1\nprint(x)", "x = 1\nprint(x)"),  # bare code
    ("Here is the code:\nimport math\nprint(math.pi)", "import math\nprint(math.pi)"),
    ("import math\nprint(math.pi)\nThis prints pi.", "import math\nprint(math.pi)"),
    ("  \n```python\n   \n```\n", None),
    ("I cannot help with that.", None),
    ("Sure", None),
    ("42", None),
    ("", None),
    ("```text\nhello world\n```", None),
    ("```bash\nls -l\n```", None),
    ("```\nThis is not python at all, just words.\n```", None),
]


@pytest.mark.parametrize("reply,expected", CASES)
def test_extract_code(reply, expected):
    assert extract_code(reply) == expected


@pytest.mark.parametrize("reply,end", [
    ("```python\nx = 1\n```\n", 20),
    ("```python\nx = 1\n```", None),  # the closing fence may still grow (````)
    ("```python\nx = 1\n", None),
    ("```\nx = 1\n```\nmore words", 14),
    ("```bash\nls\n```\n", None),
])
def test_closed_block_end(reply, end):
    assert closed_block_end(reply) == end
