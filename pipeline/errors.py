"""Every exception groundswell raises on purpose, in one place.

The hierarchy::

    GroundswellError            anything the CLI turns into one ``Error: ...`` line
    ├── ConfigError             a setting has a value that cannot work
    ├── StoreError              the database cannot be opened or written
    │   └── SchemaTooNew        the file was written by a newer groundswell
    ├── InputError              an input file cannot be read at all
    │   ├── UnknownFormat       no adapter for the requested or detected format
    │   └── MappingError        a column mapping names columns the file lacks
    └── TimelineError           a timeline document is malformed (nothing imported)

A bad *record* inside a readable file is not an exception: it is kept in the
``rejected`` table with its reason, and the ingest goes on.
"""


class GroundswellError(Exception):
    """Base class: the message is one line a user can act on."""


class ConfigError(GroundswellError):
    """A setting has a value that cannot work."""


class StoreError(GroundswellError):
    """The database cannot be opened or written."""


class SchemaTooNew(StoreError):
    """The database was written by a newer groundswell than this one."""


class InputError(GroundswellError):
    """An input file cannot be read at all."""


class UnknownFormat(InputError):
    """No adapter for the requested or detected format."""


class MappingError(InputError):
    """A column mapping names columns that the file does not have."""


class TimelineError(GroundswellError):
    """A timeline document is malformed; nothing from it was imported."""


class TaxonomyError(GroundswellError):
    """A taxonomy or incident profile file is malformed; the message names the file and the label."""
