"""edgebox: a GSM alarm box for ten-household joint defence groups (十户联防)."""
from setuptools import find_packages, setup

setup(
    name="edgebox",
    version="0.1.0",
    description="Village alarm box: a call to the box texts and rings the caller's whole group",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["edgebox", "edgebox.*"]),
    package_data={"edgebox": ["demo/*.csv", "demo/*.toml", "hub/templates/*.html",
                              "web/templates/*.html", "web/static/*",
                              # the word catalogues: compiled .mo read at run time (gettext),
                              # their .po beside them for translators
                              "locale/*/LC_MESSAGES/*.mo", "locale/*/LC_MESSAGES/*.po"]},
    install_requires=[
        "pyserial>=3.5",
        "python-gsmmodem-new==0.13.0",
        "sqlite-utils>=3.35",
        "phonenumbers>=8.13",
        "click>=8.1",
        "httpx>=0.27",  # the uplink's HTTPS client
        # The office's web panel, served by the daemon itself; openpyxl reads .xlsx sheets.
        "starlette>=0.40",
        "jinja2>=3.1",
        "python-multipart>=0.0.9",
        "uvicorn>=0.30",
        "openpyxl>=3.1",
    ],
    extras_require={
        # On the Pi: the RPi.GPIO API on the kernel's gpiochip device (works on every model, Pi 5 too).
        "pi": ["rpi-lgpio>=0.6"],
        # The county hub (edgebox hub serve): web app, server, PostgreSQL driver. Written out in
        # full (no shared variable): the firmware build reads these lists as literals.
        "hub": ["starlette>=0.40", "jinja2>=3.1", "python-multipart>=0.0.9", "uvicorn>=0.30",
                "psycopg[binary]>=3.1"],
        # pytest-xdist: scripts/test runs the suite on several workers (most tests wait on
        # emulated modems and real processes, not on the CPU). pytest 9 ignores the group
        # xdist gives a test (its --dist loadgroup then spreads the firmware image's tests over
        # every worker, each building the image): pytest 8 until that is mended.
        # Babel: pybabel extract/update/compile for the word catalogues (README "Translating");
        # the tests check the committed catalogues with it. The box itself reads the compiled
        # .mo with the standard library's gettext and does not need it.
        "test": ["Babel>=2.12", "pytest>=8,<9", "pytest-xdist>=3.5", "hypothesis>=6.100", "starlette>=0.40", "jinja2>=3.1",
                 "python-multipart>=0.0.9", "uvicorn>=0.30", "psycopg[binary]>=3.1",
                 # The web panel's browser tests drive Debian's chromium through chromedriver.
                 "selenium>=4.20",
                 # The clock-jump test runs the daemon under its libfaketime (Debian's 0.9.10
                 # fails time.sleep on Python 3.11 when the monotonic clock is left real).
                 "libfaketime>=3.0"],
    },
    entry_points={"console_scripts": ["edgebox=edgebox.cli:main"]},
)
