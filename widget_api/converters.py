"""URL converters: ids that fit a bigint, so an absurd id is a 404 and never a database error."""


class BigIdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
