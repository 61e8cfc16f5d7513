"""The image installs the package with ``dpkg -i``, which resolves no dependency: every
package the .deb depends on must already be in the image's package lists (the base's and the
stage's). A Depends added without them fails the image build only after 15 minutes; this
fails at once."""
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LISTS = (REPO / "firmware/base/packages", REPO / "firmware/stage-edgebox/00-edgebox/00-packages")


def listed(path: Path) -> set[str]:
    words = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            words.update(line.split())
    return words


def depends() -> set[str]:
    control = (REPO / "packaging/deb/control").read_text(encoding="utf-8")
    [line] = [line for line in control.splitlines() if line.startswith("Depends:")]
    names = set()
    for item in line.removeprefix("Depends:").split(","):
        name = item.split("(")[0].split("|")[0].strip()
        if name and not name.startswith("@"):  # @PYTHON@: python3, with versions
            names.add(name)
    return names


def test_every_dependency_of_the_package_is_in_the_image():
    image = set().union(*(listed(path) for path in LISTS))
    assert {"espeak-ng", "sox", "python3-venv"} <= depends()  # the parse reads the real line
    assert depends() - image == set(), "add these to firmware/stage-edgebox/00-edgebox/00-packages"
