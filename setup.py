"""Builds the gemma4cpp package: the module gemma4cpp._core comes from the project's CMake (target
gemma4_python), the Python files from python/gemma4cpp. The metadata is in pyproject.toml.

Environment:
  GEMMA4_CMAKE_BUILD_DIR  an already configured CMake build folder to build the module in (only the module
                          target is built; its Python must be the one pip runs, e.g. Debian's python3 and a
                          venv made from it). Default: a fresh CMake build under build/setuptools.
  CMAKE_BUILD_PARALLEL_LEVEL  build jobs (CMake's own variable).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
(ROOT / "build" / "setuptools").mkdir(parents=True, exist_ok=True)


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        reuse = os.environ.get("GEMMA4_CMAKE_BUILD_DIR")
        if reuse:
            build_dir = Path(reuse).resolve()
        else:
            build_dir = Path(self.build_temp).resolve() / "cmake"
            configure = ["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                         "-DGEMMA4_BUILD_TESTS=OFF", "-DGEMMA4_PYTHON=ON", f"-DPython_EXECUTABLE={sys.executable}"]
            if shutil.which("ninja"):
                configure += ["-G", "Ninja"]
            if shutil.which("ccache"):
                configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
            subprocess.check_call(configure)
        subprocess.check_call(["cmake", "--build", str(build_dir), "--target", "gemma4_python"])
        built = sorted((build_dir / "python" / "gemma4cpp").glob("_core*.so"))
        if not built:
            raise RuntimeError(f"the CMake build in {build_dir} made no gemma4cpp/_core module")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], target)


setup(
    packages=find_packages("python"),
    package_dir={"": "python"},
    ext_modules=[CMakeExtension("gemma4cpp._core")],
    cmdclass={"build_ext": CMakeBuild},
    # setuptools' own build files go next to CMake's, not into the repository's top level.
    options={"build": {"build_base": "build/setuptools"}, "egg_info": {"egg_base": "build/setuptools"}},
    zip_safe=False,
)
