-- Web servers cache who a fleet or device token is, and which release each device is served.
-- Every change that could make such an entry wrong notifies `fleet_changes` with the fleet's id
-- (delivered at commit; identical payloads in one transaction are delivered once), whoever
-- writes it: the API, the rollout keeper, a cascade from a deleted organization.
CREATE FUNCTION notify_fleet_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'fleets' THEN
    PERFORM pg_notify('fleet_changes', COALESCE(NEW.id, OLD.id));
  ELSE
    PERFORM pg_notify('fleet_changes', COALESCE(NEW.fleet_id, OLD.fleet_id));
    IF TG_OP = 'UPDATE' AND NEW.fleet_id IS DISTINCT FROM OLD.fleet_id THEN
      PERFORM pg_notify('fleet_changes', OLD.fleet_id);
    END IF;
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER fleets_notify_change AFTER UPDATE OR DELETE ON fleets
  FOR EACH ROW EXECUTE FUNCTION notify_fleet_change();
--> statement-breakpoint
-- A check-in writes only what the device reports: that is not a change of anything cached.
CREATE TRIGGER fleet_devices_notify_change AFTER UPDATE ON fleet_devices
  FOR EACH ROW WHEN (
    OLD.token_hash IS DISTINCT FROM NEW.token_hash OR OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
    OR OLD.fleet_id IS DISTINCT FROM NEW.fleet_id OR OLD.org_id IS DISTINCT FROM NEW.org_id
    OR OLD.channel IS DISTINCT FROM NEW.channel OR OLD.bucket IS DISTINCT FROM NEW.bucket
    OR OLD.profile IS DISTINCT FROM NEW.profile OR OLD.name IS DISTINCT FROM NEW.name
  ) EXECUTE FUNCTION notify_fleet_change();
--> statement-breakpoint
CREATE TRIGGER fleet_devices_notify_delete AFTER DELETE ON fleet_devices
  FOR EACH ROW EXECUTE FUNCTION notify_fleet_change();
--> statement-breakpoint
CREATE TRIGGER fleet_releases_notify_change AFTER INSERT OR UPDATE OR DELETE ON fleet_releases
  FOR EACH ROW EXECUTE FUNCTION notify_fleet_change();
