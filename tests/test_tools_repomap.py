"""repo_map, find_symbol and outline as the model calls them, in each supported language,
on a file that does not parse, in an empty repository and in a folder outside git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import make_repo
from tool_harness import run_tool, tool_text

REPOS: dict[str, dict[str, str]] = {
    "python": {
        "shop/cart.py": (
            "from shop.pricing import discount_for\n\n\n"
            "class Cart:\n"
            "    def __init__(self):\n"
            "        self.items = []\n\n"
            "    def checkout_total(self, code):\n"
            "        return sum(self.items) - discount_for(code)\n"
        ),
        "shop/pricing.py": "def discount_for(code):\n    return 5 if code == 'SALE' else 0\n",
        "shop/__init__.py": "",
    },
    "javascript": {
        "src/cart.js": (
            "import { discountFor } from './pricing.js';\n\n"
            "export class Cart {\n"
            "  constructor() { this.items = []; }\n"
            "  checkoutTotal(code) {\n"
            "    return this.items.reduce((a, b) => a + b, 0) - discountFor(code);\n"
            "  }\n"
            "}\n"
        ),
        "src/pricing.js": (
            "export function discountFor(code) {\n  return code === 'SALE' ? 5 : 0;\n}\n"
        ),
    },
    "typescript": {
        "src/cart.ts": (
            "import { discountFor } from './pricing';\n\n"
            "export class Cart {\n"
            "  items: number[] = [];\n"
            "  checkoutTotal(code: string): number {\n"
            "    return this.items.reduce((a, b) => a + b, 0) - discountFor(code);\n"
            "  }\n"
            "}\n"
        ),
        "src/pricing.ts": (
            "export function discountFor(code: string): number {\n"
            "  return code === 'SALE' ? 5 : 0;\n}\n"
        ),
        "src/view.tsx": (
            "import { Cart } from './cart';\n\n"
            "export function CartView(props: { cart: Cart }) {\n"
            "  return <div>{props.cart.checkoutTotal('')}</div>;\n}\n"
        ),
    },
    "go": {
        "go.mod": "module example.com/shop\n",
        "cart/cart.go": (
            "package cart\n\n"
            "type Cart struct {\n\tItems []int\n}\n\n"
            "func (c *Cart) CheckoutTotal(code string) int {\n"
            "\ttotal := 0\n\tfor _, i := range c.Items {\n\t\ttotal += i\n\t}\n"
            "\treturn total - DiscountFor(code)\n}\n"
        ),
        "cart/pricing.go": (
            "package cart\n\nfunc DiscountFor(code string) int {\n"
            '\tif code == "SALE" {\n\t\treturn 5\n\t}\n\treturn 0\n}\n'
        ),
    },
    "rust": {
        "Cargo.toml": '[package]\nname = "shop"\nversion = "0.1.0"\n',
        "src/cart.rs": (
            "use crate::pricing::discount_for;\n\n"
            "pub struct Cart {\n    pub items: Vec<i64>,\n}\n\n"
            "impl Cart {\n"
            "    pub fn checkout_total(&self, code: &str) -> i64 {\n"
            "        self.items.iter().sum::<i64>() - discount_for(code)\n"
            "    }\n}\n"
        ),
        "src/pricing.rs": (
            'pub fn discount_for(code: &str) -> i64 {\n    if code == "SALE" { 5 } else { 0 }\n}\n'
        ),
    },
    "java": {
        "src/main/java/shop/Cart.java": (
            "package shop;\n\nimport java.util.ArrayList;\nimport java.util.List;\n\n"
            "public class Cart {\n"
            "    private final List<Integer> items = new ArrayList<>();\n\n"
            "    public int checkoutTotal(String code) {\n"
            "        int total = items.stream().mapToInt(Integer::intValue).sum();\n"
            "        return total - Pricing.discountFor(code);\n"
            "    }\n}\n"
        ),
        "src/main/java/shop/Pricing.java": (
            "package shop;\n\npublic class Pricing {\n"
            "    public static int discountFor(String code) {\n"
            '        return "SALE".equals(code) ? 5 : 0;\n    }\n}\n'
        ),
    },
}

# (file defining the discount, its name, the cart file, the total method's name)
NAMES = {
    "python": ("shop/pricing.py", "discount_for", "shop/cart.py", "checkout_total"),
    "javascript": ("src/pricing.js", "discountFor", "src/cart.js", "checkoutTotal"),
    "typescript": ("src/pricing.ts", "discountFor", "src/cart.ts", "checkoutTotal"),
    "go": ("cart/pricing.go", "DiscountFor", "cart/cart.go", "CheckoutTotal"),
    "rust": ("src/pricing.rs", "discount_for", "src/cart.rs", "checkout_total"),
    "java": (
        "src/main/java/shop/Pricing.java",
        "discountFor",
        "src/main/java/shop/Cart.java",
        "checkoutTotal",
    ),
}


@pytest.fixture(params=sorted(REPOS))
def lang_repo(request: pytest.FixtureRequest, workspace: Path) -> tuple[str, Path]:
    make_repo(workspace, REPOS[request.param])
    return request.param, workspace


def test_find_symbol_gives_the_definition_and_its_callers(lang_repo: tuple[str, Path]) -> None:
    lang, root = lang_repo
    defining, name, caller, _ = NAMES[lang]
    out = run_tool("find_symbol", root, name=name)
    assert f"{defining}:" in out.text.split("References")[0]
    references = out.text.split("References")[1]
    assert f"{caller}:" in references
    assert out.data["definitions"] >= 1
    assert out.data["references"] >= 1


def test_outline_lists_definitions_with_line_ranges(lang_repo: tuple[str, Path]) -> None:
    lang, root = lang_repo
    _, _, caller, method = NAMES[lang]
    text = tool_text("outline", root, path=caller)
    assert text.startswith(caller)
    (line,) = [ln for ln in text.splitlines() if method in ln]
    start, end = line.strip().split(":")[0].split("-")
    source = (root / caller).read_text().splitlines()
    assert method in source[int(start) - 1]
    assert int(end) > int(start)


def test_repo_map_ranks_the_focus_first(lang_repo: tuple[str, Path]) -> None:
    lang, root = lang_repo
    defining, name, _, _ = NAMES[lang]
    out = run_tool("repo_map", root, focus=f"the discount in {name} is wrong for SALE codes")
    first = out.text.splitlines()[0]
    assert first.startswith(defining)
    assert name in out.text
    assert "return" not in out.text  # signatures, never bodies
    assert out.data["files"] >= 1


def test_repo_map_without_focus_stays_within_its_budget(lang_repo: tuple[str, Path]) -> None:
    _, root = lang_repo
    out = run_tool("repo_map", root, max_tokens=100)
    assert 0 < len(out.text) <= 400


def test_a_file_that_does_not_parse_is_still_mapped(workspace: Path) -> None:
    make_repo(
        workspace,
        {
            "app/broken.py": "def fine():\n    return 1\n\ndef broken(:\n    pass\n",
            "app/ok.py": "from app.broken import fine\n\n\ndef use_fine():\n    return fine()\n",
        },
    )
    assert "app/broken.py" in tool_text("outline", workspace, path="app/broken.py")
    found = tool_text("find_symbol", workspace, name="fine")
    assert "app/ok.py:" in found
    assert "app/" in tool_text("repo_map", workspace, focus="broken fine")


def test_an_empty_repository_answers_plainly(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    assert tool_text("repo_map", root) == "No source files to map in this workspace."
    assert "No definition of or reference to 'anything'" in tool_text(
        "find_symbol", root, name="anything"
    )


def test_a_folder_outside_git_works(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "plain", REPOS["python"], commit=False)
    (root / "node_modules" / "dep").mkdir(parents=True)
    (root / "node_modules" / "dep" / "index.js").write_text("function discount_for() {}\n")
    found = tool_text("find_symbol", root, name="discount_for")
    assert "shop/pricing.py:1-2" in found
    assert "node_modules" not in found
    assert tool_text("repo_map", root, focus="discount").startswith("shop/pricing.py")
    assert "class Cart" in tool_text("outline", root, path="shop/cart.py")


def test_bad_arguments_are_refused_with_a_reason(workspace: Path) -> None:
    make_repo(workspace, REPOS["python"], commit=False)
    assert "one identifier" in tool_text("find_symbol", workspace, name="two words")
    assert tool_text("outline", workspace, path="shop").startswith("ERROR: shop is a directory")
    assert tool_text("outline", workspace, path="../outside.py").startswith("ERROR:")
    assert tool_text("outline", workspace, path="missing.py").startswith("ERROR:")
    assert "max_tokens" in tool_text("repo_map", workspace, max_tokens=5)


def test_find_symbol_kind_and_class_narrow_the_definitions(workspace: Path) -> None:
    make_repo(workspace, REPOS["python"])
    assert "shop/cart.py:4" not in tool_text("find_symbol", workspace, name="Cart", kind="function")
    assert "shop/cart.py:4-" in tool_text("find_symbol", workspace, name="Cart", kind="class")
    hit = tool_text("find_symbol", workspace, name="Cart.checkout_total")
    assert "shop/cart.py:8-9" in hit


def test_secret_files_are_known_by_name_only(workspace: Path) -> None:
    """A prompt-injected model must not read .env or a key through the map tools, nor probe
    them through `locate` with a guessed value: their content is never indexed."""
    from cli_harness import v4code

    secret = "sk-live-0123456789abcdef"
    make_repo(
        workspace,
        {
            ".env": f"PAYMENT_API_KEY={secret}\n",
            "keys/server.pem": "-----BEGIN PRIVATE KEY-----\nMIIEpaymentkeymaterial\n",
            "app/pay.py": "import os\n\n\ndef charge():\n    return os.environ['PAYMENT_API_KEY']\n",
        },
    )
    for name, args in (
        ("find_symbol", {"name": "PAYMENT_API_KEY"}),
        ("outline", {"path": ".env"}),
        ("outline", {"path": "keys/server.pem"}),
        ("repo_map", {"focus": f"{secret} MIIEpaymentkeymaterial"}),
    ):
        out = tool_text(name, workspace, **args)
        assert secret not in out and "MIIE" not in out and ".env:1" not in out, (name, out)
    located = v4code(workspace, "locate", "--json", f"{secret} MIIEpaymentkeymaterial")
    assert located.returncode == 0, located.stderr
    assert ".env" not in located.stdout and "server.pem" not in located.stdout


def test_files_the_user_lists_as_secret_are_known_by_name_only(workspace: Path) -> None:
    """`secret_files` globs in the user's config protect a file as the built-in names do."""
    from v4code.toolkit import ToolContext

    token = "sk-live-XYZ-TOPSECRET"
    make_repo(
        workspace,
        {
            "cfg/prod_secrets.py": f'def connect(token="{token}"):\n    return token\n',
            "app/main.py": "from cfg.prod_secrets import connect\n\n\ndef run():\n    return connect()\n",
        },
    )
    ctx = ToolContext(root=workspace, secret_files=("cfg/prod_*.py",))
    for name, args in (("find_symbol", {"name": "connect"}), ("repo_map", {"focus": "connect"})):
        out = tool_text(name, ctx, **args)
        assert token not in out, (name, out)
    assert token in tool_text("repo_map", workspace, focus="connect")  # without the glob: shown
