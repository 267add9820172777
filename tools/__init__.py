"""Tools for maintaining this repository; no distribution ships them."""
