"""Every exception groundswell raises on purpose, in one place.

The hierarchy::

    GroundswellError            anything the CLI turns into one ``Error: ...`` line
    ├── ConfigError             a setting has a value that cannot work
    ├── StoreError              the database cannot be opened or written
    │   └── SchemaTooNew        the file was written by a newer groundswell
    ├── InputError              an input file cannot be read at all
    │   ├── UnknownFormat       no adapter for the requested or detected format
    │   └── MappingError        a column mapping names columns the file lacks
    ├── TimelineError           a timeline document is malformed (nothing imported)
    ├── UnknownIncident         no incident with the id asked for
    ├── QueryRefused            `groundswell sql` got a statement that would write (nothing ran)
    ├── QueryFailed             DuckDB could not run a read-only query
    ├── ExportError             an export cannot be written (nothing of it is left)
    └── LiveSourceError         a live stream refused us in a way retrying cannot fix

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


class UnknownIncident(GroundswellError):
    """No incident with the requested id; the message lists the ids there are."""


class QueryRefused(GroundswellError):
    """A statement given to ``groundswell sql`` would write or reach outside the database; nothing ran."""


class QueryFailed(GroundswellError):
    """DuckDB could not run a read-only query (a syntax error, an unknown table or column), or its result could not be written."""


class ExportError(GroundswellError):
    """An export cannot be written where asked; nothing of it is left behind."""


class LiveSourceError(GroundswellError):
    """A live source refused us for good (a bad token or URL, a stored cursor it cannot use):
    reconnecting would not help, so the stream stops with this one line."""
