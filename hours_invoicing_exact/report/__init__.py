from . import project_booking_analysis, project_post_calculation
