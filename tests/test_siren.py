"""The siren relay through the RPi.GPIO API, on simulated pins."""
import pytest

from edgebox.adapters.gpio.siren import GpioSiren, load_gpio
from edgebox.adapters.gpio.simulated import SimulatedGPIO


@pytest.mark.parametrize("active_high,on,off", [(True, 1, 0), (False, 0, 1)])
def test_relay_is_silent_from_setup_and_follows_its_polarity(active_high, on, off):
    gpio = SimulatedGPIO(clock=iter(range(100)).__next__)
    siren = GpioSiren(gpio, 17, active_high=active_high)
    assert gpio.history == [(0, 17, off)]  # driven off at the very first moment
    siren.on()
    siren.off()
    assert [level for _, _, level in gpio.history] == [off, on, off]
    assert gpio.mode == gpio.BCM


def test_simulated_pins_behave_like_rpi_gpio():
    gpio = SimulatedGPIO()
    with pytest.raises(RuntimeError, match="setmode"):
        gpio.setup(5, gpio.IN)
    gpio.setmode(gpio.BCM)
    with pytest.raises(RuntimeError, match="OUTPUT"):
        gpio.output(5, 1)
    gpio.setup(5, gpio.IN, pull_up_down=gpio.PUD_UP)
    assert gpio.input(5) == gpio.HIGH
    gpio.drive(5, 0)
    assert gpio.input(5) == gpio.LOW


def test_rpi_backend_off_a_pi_says_what_to_do():
    try:
        import RPi.GPIO  # noqa: F401
    except (ImportError, RuntimeError):
        with pytest.raises(RuntimeError, match=r"install edgebox\[pi\]"):
            load_gpio("rpi")
    else:
        pytest.skip("this machine has the RPi.GPIO API")
