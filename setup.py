"""Packaging that pyproject.toml cannot say: p4src/ and examples/ ship inside the package.

They stay at the top of the repository, where users, docs and docker-compose.yml find them;
installed, they are the package data directories p4nic/p4src and p4nic/examples, which
p4nic.pipelines finds. Everything else is in pyproject.toml.
"""
from setuptools import find_namespace_packages, setup

SHIPPED_DATA = {"p4nic.p4src": "p4src", "p4nic.p4src.include": "p4src/include",
                "p4nic.examples": "examples"}

setup(packages=find_namespace_packages(include=["p4nic", "p4nic.*"], exclude=["*.__pycache__"])
         + list(SHIPPED_DATA),
      package_dir=SHIPPED_DATA)
