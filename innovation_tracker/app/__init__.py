"""The use cases the pages and the command line both call: each one checks its rules, then makes one audited write
(or one scoped read) through `storage`."""
