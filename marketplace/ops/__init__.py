"""Operations commands: `flask backup`, `flask restore`, `flask check-config`."""
