CREATE TABLE "fleet_devices" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"fleet_id" text NOT NULL,
	"name" text NOT NULL,
	"profile" text NOT NULL,
	"fingerprint" jsonb NOT NULL,
	"token_hash" text NOT NULL,
	"enrolled_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_check_in_at" timestamp with time zone,
	"installed_version" text,
	"health" text,
	"last_error" text,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "fleets" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"name" text NOT NULL,
	"token_hash" text NOT NULL,
	"token_prefix" text NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "fleet_devices" ADD CONSTRAINT "fleet_devices_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fleet_devices" ADD CONSTRAINT "fleet_devices_fleet_id_fleets_id_fk" FOREIGN KEY ("fleet_id") REFERENCES "public"."fleets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fleets" ADD CONSTRAINT "fleets_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fleets" ADD CONSTRAINT "fleets_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "fleet_devices_token_hash" ON "fleet_devices" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "fleet_devices_fleet" ON "fleet_devices" USING btree ("fleet_id");--> statement-breakpoint
CREATE UNIQUE INDEX "fleet_devices_fleet_name" ON "fleet_devices" USING btree ("fleet_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "fleets_org_name" ON "fleets" USING btree ("org_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "fleets_token_hash" ON "fleets" USING btree ("token_hash");