"""Tickets (工单): work assigned to an organisation with a working-day deadline; see domain.py."""
