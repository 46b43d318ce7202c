"""README.md shows the set-up commands first, and its C and Python examples are exactly the
sample files, which run. Environment: OM_SOURCE_DIR, OM_HELLO_C (the built C sample),
OM_BUILD_PYTHON (ON/OFF), OM_PYTHON_DIR (build/python), OM_PLUGIN_PATH."""
import os
import re
import subprocess
import unittest

SOURCE = os.environ["OM_SOURCE_DIR"]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\s*$", re.S | re.M)


def read(relative):
    with open(os.path.join(SOURCE, relative), encoding="utf-8") as f:
        return f.read()


def blocks(language):
    return [body for lang, body in FENCE.findall(read("README.md")) if lang == language]


def run(argv, **env):
    full_env = dict(os.environ, **env)
    return subprocess.run(argv, env=full_env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


class Readme(unittest.TestCase):
    def test_starts_with_the_two_setup_commands(self):
        first_language, first_body = FENCE.findall(read("README.md"))[0]
        self.assertEqual(first_body, "scripts/demo\nscripts/test\n")

    def test_c_example_is_the_c_sample(self):
        self.assertEqual(blocks("c")[0], read("samples/c/hello.c"))

    def test_python_example_is_the_python_sample(self):
        self.assertEqual(blocks("python")[0], read("samples/python/hello.py"))

    def test_c_sample_runs(self):
        r = run([os.environ["OM_HELLO_C"]])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('B received "hello from A"', r.stdout)

    def test_python_sample_runs(self):
        if os.environ.get("OM_BUILD_PYTHON", "ON").upper() in ("OFF", "0", "FALSE", "NO"):
            self.skipTest("!!! OM_BUILD_PYTHON is off: the Python sample is NOT tested !!!")
        sample = os.path.join(SOURCE, "samples/python/hello.py")
        r = run(["/usr/bin/python3", sample], PYTHONPATH=os.environ["OM_PYTHON_DIR"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("B received", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
