"""What businesses announce to the apps built on them (which businesses cannot import).

`business_deactivating` is sent inside the deactivation's transaction, before the
business row changes, with `business`. The queue engine receives it to close the
queue and tell the customers still in it, under its own lock.
"""

from django.dispatch import Signal

business_deactivating = Signal()
