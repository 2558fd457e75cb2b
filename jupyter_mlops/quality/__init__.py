"""pylint and pytest runs on a generated package, with findings mapped back to notebook cells."""
